"""The case ids of a reader's worklist, drawn as the worklist page draws them
(:func:`petdx.study.reading.worklist` in a write transaction), for the viewer's tests and
benchmark."""

from __future__ import annotations

from datetime import UTC, datetime

from petdx.study.config import StudyFolder
from petdx.study.database import open_database
from petdx.study.reading import worklist


def case_ids_of(study: StudyFolder, reader_id: str) -> list[str]:
    """The case ids of ``reader_id``'s open read session, in their worklist order."""
    database = open_database(study)
    try:
        with database.begin_write() as connection:
            listed = worklist(connection, study.config, reader_id, now=datetime.now(UTC))
    finally:
        database.dispose()
    return [entry.case.case_id for entry in listed.entries]
