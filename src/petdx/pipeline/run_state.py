"""What ``petdx run`` has already done: content hashes of each stage's inputs.

The state file ``STUDY/.petdx/run-state.json`` maps each unit of work (a DICOM source folder,
a patient's quantification, the analysis, the report) to the SHA-256 of everything its result
depends on — inputs and parameters, and petdx's version. A unit whose hash is unchanged and
whose outputs exist is skipped. The file is rewritten atomically after each unit's results are
committed, so a run killed at any point redoes at most the unit it was in; since every unit is
deterministic and replaces its previous outputs, the final outputs equal an uninterrupted run's.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from petdx import __version__
from petdx.fileio import atomic_write_text
from petdx.study.layout import StudyLayout

__all__ = ["RunState", "content_hash", "folder_signature"]

_STATE_VERSION = 1


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def content_hash(*parts: Any) -> str:
    """SHA-256 of the canonical JSON of ``parts`` (dict keys sorted), with petdx's version."""
    text = json.dumps(
        [__version__, *parts], sort_keys=True, default=_default, separators=(",", ":")
    )
    return hashlib.sha256(text.encode()).hexdigest()


def folder_signature(root: Path) -> str:
    """A cheap signature of a folder's files: relative path, size and modification time of
    each (not their content: reading 75,000 files to find that nothing changed would make a
    no-op run slow). A changed file changes its size or time."""
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            stat = path.stat()
            entries.append((str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns))
    return content_hash(entries)


@dataclass
class RunState:
    """The state file of one study (see the module docstring)."""

    path: Path
    sources: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    #: Per task unit: the last run's wall time (s) and its worker's peak memory (MiB).
    tasks: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def load(cls, study_root: Path) -> RunState:
        path = StudyLayout(study_root).run_state
        if not path.exists():
            return cls(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return cls(path)  # unreadable state: redo everything (outputs are deterministic)
        if doc.get("version") != _STATE_VERSION:
            return cls(path)
        return cls(
            path,
            dict(doc.get("sources", {})),
            dict(doc.get("units", {})),
            dict(doc.get("tasks", {})),
        )

    def save(self) -> None:
        doc = {
            "version": _STATE_VERSION,
            "sources": self.sources,
            "units": self.units,
            "tasks": self.tasks,
        }
        atomic_write_text(self.path, json.dumps(doc, indent=1, sort_keys=True))

    def is_current(self, unit: str, digest: str) -> bool:
        return self.units.get(unit) == digest

    def mark(self, unit: str, digest: str) -> None:
        self.units[unit] = digest
        self.save()

    def record_task(self, unit: str, seconds: float, peak_rss_mib: float) -> None:
        """Keep a task's wall time and peak memory (saved with the next :meth:`mark`)."""
        self.tasks[unit] = {"seconds": round(seconds, 3), "peak_rss_mib": round(peak_rss_mib, 1)}

    def forget(self, unit: str) -> None:
        if self.units.pop(unit, None) is not None:
            self.save()
