"""The layering rules of docs/architecture.md, checked on the source (issue 18)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "petdx"


def _modules(under: str = "") -> list[Path]:
    return sorted((SRC / under).rglob("*.py"))


def _relative(path: Path) -> str:
    return str(path.relative_to(SRC))


def test_sql_only_inside_the_study_package() -> None:
    offenders = [
        f"{_relative(p)}:{n}"
        for p in _modules()
        if not _relative(p).startswith("study/")
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"\bselect\(|\.insert\(\)|\.update\(\)\s*$|\.delete\(\)", line)
    ]
    assert offenders == [], "SQL outside petdx.study (use petdx.study.queries)"


def test_study_paths_only_in_the_layout() -> None:
    pattern = re.compile(r'root\s*/\s*"|/\s*"(derived|results|report|images|logs)"')
    offenders = [
        f"{_relative(p)}:{n}"
        for p in _modules()
        if _relative(p) != "study/layout.py"
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert offenders == [], "study-folder paths built outside petdx.study.layout"


def test_report_imports_nothing_from_the_pipeline() -> None:
    imported = set()
    for path in _modules("report"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    assert not {m for m in imported if m.startswith("petdx.pipeline")}


def test_dicom_modules_import_no_private_names() -> None:
    """A petdx.dicom module uses another's public API only (the de-identified file encoder
    builds on the profile's public steps, not its underscored helpers)."""
    offenders = [
        f"{_relative(path)}: {node.module}.{alias.name}"
        for path in _modules("dicom")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("petdx")
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert offenders == [], "private names imported across petdx.dicom modules"
