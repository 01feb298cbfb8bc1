"""``petdx demo``'s accounts: one per role, generated passwords that work once shown and are
stored only as Argon2id hashes; a second demo run keeps them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from petdx.pipeline.demo import DEMO_SITE, create_demo_accounts
from petdx.study.accounts import AccountSettings, check_password
from petdx.study.config import StudyConfig
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
