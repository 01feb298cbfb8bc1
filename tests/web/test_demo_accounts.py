"""``petdx demo``'s accounts: one per role, generated passwords that work once shown and are
stored only as Argon2id hashes; a second demo run keeps them."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.pipeline.demo import DEMO_SITE, create_demo_accounts
from petdx.study.accounts import AccountSettings, check_password
from petdx.study.config import StudyConfig, open_study
from petdx.study.database import init_study, open_database
from petdx.study.roles import Role
from petdx.study.schema import accounts, audit_log


def test_one_account_per_role_with_a_generated_password_stored_hashed(tmp_path: Path) -> None:
    study = init_study(tmp_path / "study", StudyConfig())
    made = create_demo_accounts(study.root, actor="demo")
    assert sorted(a.role for a in made) == sorted(Role)
    assert {a.site for a in made} == {DEMO_SITE}
    assert len({a.password for a in made}) == len(Role)
    assert all(len(a.password) >= 20 for a in made)
    database = open_database(study)
    try:
        with database.engine.connect() as connection:
            hashes = connection.execute(select(accounts.c.password_hash)).scalars().all()
            audit_text = " ".join(
                str(v) for row in connection.execute(select(audit_log)) for v in row
            )
        for account in made:
            assert check_password(database, account.name, account.password, AccountSettings())
            assert account.password not in " ".join(hashes)
            assert account.password not in audit_text
        assert all(h.startswith("$argon2id$") for h in hashes)
    finally:
        database.dispose()
    assert create_demo_accounts(study.root, actor="demo") == []  # a rerun keeps them


def test_petdx_demo_prints_how_to_open_it_and_the_passwords_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command's own output (the simulation and run are replaced by a bare study)."""
    import petdx.pipeline.demo as demo

    def fake_run_demo(folder: Path, settings: object, **_: object) -> SimpleNamespace:
        study = init_study(Path(folder) / "study", StudyConfig())
        return SimpleNamespace(
            study=str(study.root),
            headline=[],
            stages=[],
            report_html=str(study.root / "report.html"),
            report_pdf=None,
            problems=[],
            unusable_inputs=[],
        )

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    first = CliRunner().invoke(app, ["demo", str(tmp_path), "--no-pdf"])
    assert first.exit_code == 0, first.output
    text = first.stderr
    assert f"petdx serve {tmp_path / 'study'}" in " ".join(text.split())
    assert "http://127.0.0.1:8000/" in text
    for role in Role:
        assert role.value in text
    passwords = re.findall(r"│ ([A-Za-z0-9_-]{22}) +│", text)
    assert len(passwords) == len(Role)
    database = open_database(open_study(tmp_path / "study"))
    try:
        for role, password in zip(sorted(Role, key=list(Role).index), passwords, strict=True):
            assert check_password(database, role.value, password, AccountSettings())
    finally:
        database.dispose()
    again = CliRunner().invoke(app, ["demo", str(tmp_path), "--no-pdf"])
    assert again.exit_code == 0
    assert "exist already" in again.stderr
    assert not any(p in again.stderr for p in passwords)  # shown once
