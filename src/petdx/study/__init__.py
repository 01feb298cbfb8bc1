"""The study database: patients, eligibility, radiation dose, imaging, reads, reference
standard and follow-up, with an audit trail, blinding and de-identified image storage.

The study folder (:func:`init_study`, :func:`open_study`) holds ``study.toml``
(:class:`StudyConfig`), the database and ``images/``. Records enter through
:func:`import_csv` or the record functions (each write audited, :func:`verify_audit_trail`),
leave through :func:`export_study` (pseudonyms only), and the screening log comes from the
eligibility rules (:func:`screening_log`).
"""

from petdx.study.audit import AuditVerification, verify_audit_trail
from petdx.study.blinding import ReaderView
from petdx.study.config import (
    PdL1Score,
    StudyConfig,
    StudyFolder,
    TargetCondition,
    load_config,
    open_study,
    write_config,
)
from petdx.study.database import StudyDatabase, init_study, open_database
from petdx.study.dose import ExposureDose, exposure_dose, rolling_dose
from petdx.study.eligibility import (
    CriterionResult,
    ScreeningDecision,
    Verdict,
    evaluate_patient,
    screening_log,
)
from petdx.study.exporting import ExportResult, export_study
from petdx.study.importing import ImportRejected, ImportResult, import_csv, import_kinds
from petdx.study.records import (
    Author,
    delete_record,
    get_record,
    insert_record,
    insert_records,
    update_record,
)

__all__ = [
    "AuditVerification",
    "Author",
    "CriterionResult",
    "ExportResult",
    "ExposureDose",
    "ImportRejected",
    "ImportResult",
    "PdL1Score",
    "ReaderView",
    "ScreeningDecision",
    "StudyConfig",
    "StudyDatabase",
    "StudyFolder",
    "TargetCondition",
    "Verdict",
    "delete_record",
    "evaluate_patient",
    "export_study",
    "exposure_dose",
    "get_record",
    "import_csv",
    "import_kinds",
    "init_study",
    "insert_record",
    "insert_records",
    "load_config",
    "open_database",
    "open_study",
    "rolling_dose",
    "screening_log",
    "update_record",
    "verify_audit_trail",
    "write_config",
]
