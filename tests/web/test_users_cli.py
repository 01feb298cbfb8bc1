"""``petdx users add|list|disable``: accounts from the command line; bad input exits 2 with a
message naming the value and the fix, and stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.study.accounts import list_accounts
from petdx.study.audit import audit_history
from petdx.study.config import StudyConfig, StudyFolder
from petdx.study.database import init_study, open_database
from petdx.study.roles import Role
from tests.web.conftest import PASSWORD

runner = CliRunner()


@pytest.fixture
def bare_study(tmp_path: Path) -> StudyFolder:
    return init_study(tmp_path / "study", StudyConfig())


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password.txt"
    path.write_text(PASSWORD + "\n")
    return path


def _names(study: StudyFolder) -> list[tuple[str, Role, str, bool]]:
    database = open_database(study)
    try:
        return [(a.name, a.role, a.site, a.disabled) for a in list_accounts(database)]
    finally:
        database.dispose()


def test_add_list_disable(bare_study: StudyFolder, password_file: Path) -> None:
    root = str(bare_study.root)
    result = runner.invoke(
        app,
        [
            "users",
            "add",
            root,
            "maria",
            "--role",
            "coordinator",
            "--site",
            "Lyon",
            "--password-file",
            str(password_file),
            "--user",
            "setup",
        ],
    )
    assert result.exit_code == 0, result.output
    assert _names(bare_study) == [("maria", Role.COORDINATOR, "Lyon", False)]
    listed = runner.invoke(app, ["users", "list", root])
    assert listed.exit_code == 0
    assert "maria" in listed.output
    assert "coordinator" in listed.output
    assert "active" in listed.output
    disabled = runner.invoke(app, ["users", "disable", root, "maria", "--user", "setup"])
    assert disabled.exit_code == 0, disabled.output
    assert _names(bare_study) == [("maria", Role.COORDINATOR, "Lyon", True)]
    database = open_database(bare_study)
    try:
        with database.engine.connect() as connection:
            trail = audit_history(connection, table_name="accounts")
    finally:
        database.dispose()
    assert [(e.action, e.actor, e.reason) for e in trail] == [
        ("insert", "setup", "account created"),
        ("update", "setup", "account disabled"),
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--role", "boss", "--site", "Lyon"], "--role boss: not a role"),
        (["--role", "reader", "--site", " "], "account site ' '"),
        (["--role", "reader", "--site", "a\x07b"], "control or invisible character"),
        (["--role", "reader", "--site", "x" * 65], "at most 64"),
    ],
)
def test_bad_role_or_site_exits_2(
    bare_study: StudyFolder, password_file: Path, extra: list[str], expected: str
) -> None:
    result = runner.invoke(
        app,
        [
            "users",
            "add",
            str(bare_study.root),
            "maria",
            *extra,
            "--password-file",
            str(password_file),
        ],
    )
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert _names(bare_study) == []


def test_bad_passwords_exit_2(bare_study: StudyFolder, tmp_path: Path) -> None:
    root = str(bare_study.root)
    short = tmp_path / "short.txt"
    short.write_text("too short\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    same = tmp_path / "same.txt"
    same.write_text("maria-the-coordinator\n")
    cases = {
        str(short): "at least 12",
        str(empty): "the first line is empty",
        str(tmp_path / "missing.txt"): "no such file",
        str(same): "must not be the name",
    }
    for path, expected in cases.items():
        result = runner.invoke(
            app,
            [
                "users",
                "add",
                root,
                "maria-the-coordinator",
                "--role",
                "reader",
                "--site",
                "s",
                "--password-file",
                path,
            ],
        )
        assert result.exit_code == 2, (path, result.output)
        assert expected in " ".join(result.output.split()), path
    assert _names(bare_study) == []


def test_without_a_terminal_the_password_must_come_from_a_file(bare_study: StudyFolder) -> None:
    result = runner.invoke(
        app, ["users", "add", str(bare_study.root), "maria", "--role", "reader", "--site", "s"]
    )
    assert result.exit_code == 2
    assert "--password-file" in result.output
    assert _names(bare_study) == []


def test_the_two_typed_passwords_must_agree(
    bare_study: StudyFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import petdx.cli.web as cli_web

    typed = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr(cli_web.getpass, "getpass", lambda prompt: next(typed))
    monkeypatch.setattr(cli_web, "_has_terminal", lambda: True)
    result = runner.invoke(
        app, ["users", "add", str(bare_study.root), "maria", "--role", "reader", "--site", "s"]
    )
    assert result.exit_code == 2, result.output
    assert "the two passwords differ" in result.output
    assert _names(bare_study) == []


def test_a_taken_name_and_unknown_or_disabled_accounts_exit_2(
    bare_study: StudyFolder, password_file: Path
) -> None:
    root = str(bare_study.root)
    add = [
        "users",
        "add",
        root,
        "maria",
        "--role",
        "reader",
        "--site",
        "s",
        "--password-file",
        str(password_file),
    ]
    assert runner.invoke(app, add).exit_code == 0
    again = runner.invoke(app, add)
    assert again.exit_code == 2
    assert "exists already" in again.output
    unknown = runner.invoke(app, ["users", "disable", root, "nobody"])
    assert unknown.exit_code == 2
    assert "no account named 'nobody'" in unknown.output
    assert runner.invoke(app, ["users", "disable", root, "maria"]).exit_code == 0
    twice = runner.invoke(app, ["users", "disable", root, "maria"])
    assert twice.exit_code == 2
    assert "disabled already" in twice.output


def test_not_a_study_exits_2(tmp_path: Path) -> None:
    for command in (["users", "list", str(tmp_path / "none")], ["serve", str(tmp_path / "none")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert "no such study folder" in result.output
