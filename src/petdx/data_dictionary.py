"""The study's tabular exchange format: every CSV table petdx reads or writes, field by field.

One definition serves three parts of petdx: the simulator writes its cohort in this format
(and a ``data_dictionary.csv`` generated from it), ``petdx import`` validates coordinators'
files against it, and ``petdx export`` writes it back out. A field lists its type, unit,
allowed values and whether it is required; tables marked ``truth`` hold simulator ground truth,
which a real study never has and ``petdx import`` refuses.

Conventions: dates ISO 8601 ``YYYY-MM-DD``; date-times ``YYYY-MM-DDTHH:MM:SS`` (local time);
booleans ``true``/``false``; tri-state evidence ``yes``/``no``/``unknown`` (an empty cell
means unknown); several codes in one cell are separated by ``;``. Patient identifiers are
pseudonyms only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from petdx.ct_dose import AAPM96_K_FACTORS_MSV_PER_MGY_CM

__all__ = [
    "CODE_LABELS",
    "CRITERIA",
    "TABLES",
    "Criterion",
    "Field",
    "FieldType",
    "Table",
    "code_label",
    "dictionary_rows",
]


class FieldType(StrEnum):
    """Value types of the exchange format."""

    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    CODE = "code"  # one of ``allowed``
    CODES = "codes"  # several of ``allowed``, separated by ';'


@dataclass(frozen=True)
class Field:
    """One column of a table."""

    name: str
    type: FieldType
    description: str
    unit: str | None = None
    allowed: tuple[str, ...] | None = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Table:
    """One CSV table (file ``<name>.csv``)."""

    name: str
    description: str
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    truth: bool = False

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"table {self.name} has no field {name}")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True)
class Criterion:
    """A protocol eligibility criterion, as the trial record states it."""

    id: str
    kind: str  # "inclusion" or "exclusion"
    text: str


#: The 68Ga-DOTA-BLP protocol's criteria (trial record, "Participation Criteria"). The ids are
#: shared by the simulator's enrolment truth and the study's eligibility engine.
CRITERIA: tuple[Criterion, ...] = (
    Criterion("age_18_or_over", "inclusion", "Age over 18 years at consent"),
    Criterion(
        "malignancy_confirmed",
        "inclusion",
        "Malignant tumour confirmed by biopsy or surgical pathology",
    ),
    Criterion(
        "suspicious_nodes_or_metastases",
        "inclusion",
        "Imaging findings of suspicious lymph nodes or distant metastases",
    ),
    Criterion(
        "written_consent", "inclusion", "Written informed consent by the subject or guardian"
    ),
    Criterion(
        "no_prior_antitumour_therapy",
        "exclusion",
        "Antitumour therapy received before the PET scan",
    ),
    Criterion(
        "tolerates_scan",
        "exclusion",
        "Severe medical condition: cannot tolerate PET/CT or PET/MR",
    ),
    Criterion("no_scan_contraindication", "exclusion", "Contraindication to PET/CT or PET/MR"),
    Criterion(
        "radiation_under_50msv",
        "exclusion",
        "More than 50 mSv of radiation exposure in the past year",
    ),
    Criterion("no_recent_major_surgery", "exclusion", "Major surgery within the past 3 months"),
    Criterion(
        "no_recent_experimental_therapy",
        "exclusion",
        "Experimental drug or device therapy within the past month",
    ),
    Criterion(
        "investigator_approves",
        "exclusion",
        "Any condition the principal investigator considers potentially harmful",
    ),
)

_CRITERION_IDS = tuple(c.id for c in CRITERIA)

#: How forms, reports and exports show a code to people, where the plain rule of
#: :func:`code_label` (underscores to spaces, first letter capitalised) does not serve:
#: acronyms, tracer names, antibody clones with their vendors.
CODE_LABELS: dict[str, str] = {
    "yes": "Yes",
    "no": "No",
    "unknown": "Unknown",
    "M": "Male",
    "F": "Female",
    "O": "Other",
    "ga68-dota-blp": "68Ga-DOTA-BLP",
    "f18-fdg": "18F-FDG",
    "nsclc": "Non-small-cell lung cancer",
    "sclc": "Small-cell lung cancer",
    "hnscc": "Head and neck squamous-cell carcinoma",
    "breast_tnbc": "Triple-negative breast cancer",
    "hepatocellular": "Hepatocellular carcinoma",
    "renal": "Renal cell carcinoma",
    "urothelial": "Urothelial carcinoma",
    "gastric": "Gastric cancer",
    "oesophageal": "Oesophageal cancer",
    "colorectal": "Colorectal cancer",
    "cervical": "Cervical cancer",
    "22C3": "22C3 (Dako)",
    "SP263": "SP263 (Ventana)",
    "28-8": "28-8 (Dako)",
    "SP142": "SP142 (Ventana)",
    "follow_up_composite": "Follow-up composite",
    "pdl1_positive_malignant": "Malignant, PD-L1 positive",
    "pdl1_negative_malignant": "Malignant, PD-L1 negative",
    "benign_inflammatory": "Benign (inflammatory)",
    "nodal_and_distant": "Nodal and distant",
}


def code_label(code: str) -> str:
    """The label people read for a code of the exchange format (``breast_tnbc`` ->
    ``Triple-negative breast cancer``); a code without an entry in :data:`CODE_LABELS`
    reads with spaces for underscores and its first letter capitalised."""
    text = str(code)
    if text in CODE_LABELS:
        return CODE_LABELS[text]
    if text.isupper() or "/" in text:
        return text
    spaced = text.replace("_", " ")
    return spaced[:1].upper() + spaced[1:]


_TRI = ("yes", "no", "unknown")
TRACERS = ("ga68-dota-blp", "f18-fdg")
TUMOUR_TYPES = (
    "nsclc",
    "sclc",
    "hnscc",
    "melanoma",
    "gastric",
    "oesophageal",
    "colorectal",
    "hepatocellular",
    "urothelial",
    "renal",
    "cervical",
    "breast_tnbc",
    "other",
)
LESION_SITES = (
    "lung",
    "mediastinal_node",
    "hilar_node",
    "cervical_node",
    "axillary_node",
    "abdominal_node",
    "pelvic_node",
    "liver",
    "bone",
    "adrenal",
    "soft_tissue",
    "other",
)
LESION_CLASSES = ("pdl1_positive_malignant", "pdl1_negative_malignant", "benign_inflammatory")


def _pid() -> Field:
    return Field("patient_id", FieldType.STRING, "Study pseudonym of the patient", required=True)


def _tri(name: str, description: str, *, required: bool = False) -> Field:
    return Field(name, FieldType.CODE, description, allowed=_TRI, required=required)


def _date(name: str, description: str, *, required: bool = False) -> Field:
    return Field(name, FieldType.DATE, description, required=required)


_TABLES: tuple[Table, ...] = (
    Table(
        "patients",
        "One row per screened patient: demographics and tumour type",
        ("patient_id",),
        (
            _pid(),
            Field("sex", FieldType.CODE, "Sex", allowed=("M", "F", "O"), required=True),
            _date("birth_date", "Date of birth", required=True),
            Field("height_m", FieldType.DECIMAL, "Height", unit="m", minimum=1.0, maximum=2.5),
            Field(
                "weight_kg", FieldType.DECIMAL, "Body weight", unit="kg", minimum=25, maximum=300
            ),
            Field("tumour_type", FieldType.CODE, "Primary tumour type", allowed=TUMOUR_TYPES),
            Field("ecog", FieldType.INTEGER, "ECOG performance status", minimum=0, maximum=4),
            _date("screening_date", "Date of the screening visit", required=True),
        ),
    ),
    Table(
        "screening",
        "Evidence for each eligibility criterion, one row per screened patient",
        ("patient_id",),
        (
            _pid(),
            _date("planned_scan_date", "Planned 68Ga-DOTA-BLP PET date", required=True),
            _tri("consent_signed", "Written informed consent signed"),
            _date("consent_date", "Date consent was signed"),
            Field(
                "consent_by",
                FieldType.CODE,
                "Who signed",
                allowed=("subject", "guardian"),
            ),
            _tri("malignancy_confirmed", "Malignancy confirmed by pathology"),
            Field(
                "confirmation_method",
                FieldType.CODE,
                "How malignancy was confirmed",
                allowed=("biopsy", "surgical", "cytology", "clinical"),
            ),
            _date("confirmation_date", "Date of the confirming pathology report"),
            _tri("suspicious_lesions", "Suspicious lymph nodes or distant metastases on imaging"),
            Field(
                "suspicious_lesion_kind",
                FieldType.CODE,
                "What imaging showed",
                allowed=("nodal", "distant", "nodal_and_distant", "none"),
            ),
            _date("imaging_date", "Date of the imaging that showed them"),
            _tri("prior_antitumour_therapy", "Antitumour therapy before the PET scan"),
            _date("prior_therapy_date", "Start of the most recent antitumour therapy"),
            _tri("cannot_tolerate_scan", "Severe condition: cannot tolerate the scan"),
            _tri("scan_contraindication", "Contraindication to PET/CT or PET/MR"),
            _tri("major_surgery", "Major surgery in the history taken at screening"),
            _date("major_surgery_date", "Date of the most recent major surgery"),
            _tri("experimental_therapy", "Experimental drug or device therapy in the history"),
            _date("experimental_therapy_date", "Date of the most recent experimental therapy"),
            _tri("investigator_excludes", "Principal investigator judges participation harmful"),
            Field("investigator_reason", FieldType.STRING, "Investigator's reason, free text"),
        ),
    ),
    Table(
        "exposures",
        "Radiation exposures before the study scan (for the 50 mSv/year criterion)",
        ("exposure_id",),
        (
            Field("exposure_id", FieldType.STRING, "Identifier of the exposure", required=True),
            _pid(),
            _date("exposure_date", "Date of the exposure", required=True),
            Field(
                "modality",
                FieldType.CODE,
                "Kind of exposure",
                allowed=(
                    "PET",
                    "CT",
                    "PET/CT",
                    "PET/MR",
                    "SPECT",
                    "SPECT/CT",
                    "radiography",
                    "fluoroscopy",
                ),
                required=True,
            ),
            Field("radiopharmaceutical", FieldType.STRING, "Tracer name, e.g. f18-fdg"),
            Field(
                "administered_activity_mbq",
                FieldType.DECIMAL,
                "Injected activity",
                unit="MBq",
                minimum=0,
                maximum=20000,
            ),
            Field(
                "ct_dlp_mgy_cm",
                FieldType.DECIMAL,
                "CT dose-length product",
                unit="mGy.cm",
                minimum=0,
                maximum=20000,
            ),
            Field(
                "ct_region",
                FieldType.CODE,
                "Body region of the CT (selects the AAPM Report 96 k-factor)",
                allowed=tuple(AAPM96_K_FACTORS_MSV_PER_MGY_CM),
            ),
            Field(
                "effective_dose_msv",
                FieldType.DECIMAL,
                "Effective dose when the source states it (otherwise computed)",
                unit="mSv",
                minimum=0,
                maximum=1000,
            ),
            Field("description", FieldType.STRING, "Free-text description (no identifiers)"),
        ),
    ),
    Table(
        "scans",
        "Study PET/CT acquisitions written by the simulator or listed by the site",
        ("scan_id",),
        (
            Field("scan_id", FieldType.STRING, "Identifier of the acquisition", required=True),
            _pid(),
            Field("tracer", FieldType.CODE, "Tracer profile", allowed=TRACERS, required=True),
            Field(
                "time_point_min",
                FieldType.INTEGER,
                "Nominal uptake time",
                unit="min",
                required=True,
                minimum=1,
                maximum=1440,
            ),
            Field(
                "modality",
                FieldType.CODE,
                "Hybrid scanner of the acquisition (empty: not stated)",
                allowed=("PET/CT", "PET/MR"),
            ),
            Field("injection_datetime", FieldType.DATETIME, "Tracer injection time", required=True),
            Field(
                "administered_activity_mbq",
                FieldType.DECIMAL,
                "Injected activity",
                unit="MBq",
                required=True,
                minimum=1,
                maximum=2000,
            ),
            Field("scan_datetime", FieldType.DATETIME, "PET acquisition start", required=True),
            Field("pet_series_uid", FieldType.STRING, "PET SeriesInstanceUID", required=True),
            Field("ct_series_uid", FieldType.STRING, "CT SeriesInstanceUID"),
            Field("dicom_folder", FieldType.STRING, "Folder of the series, relative to the cohort"),
        ),
    ),
    Table(
        "lesions",
        "Simulated lesions (ground truth): where they are, what they are",
        ("lesion_id",),
        (
            Field("lesion_id", FieldType.STRING, "Identifier, unique in the cohort", required=True),
            _pid(),
            Field(
                "role",
                FieldType.CODE,
                "Primary tumour, nodal or distant lesion",
                allowed=("primary", "nodal", "distant"),
                required=True,
            ),
            Field("site", FieldType.CODE, "Anatomical site", allowed=LESION_SITES, required=True),
            Field(
                "lesion_class",
                FieldType.CODE,
                "Simulated biology",
                allowed=LESION_CLASSES,
                required=True,
            ),
            Field("malignant", FieldType.BOOLEAN, "True for malignant lesions", required=True),
            Field(
                "pdl1_tps_pct",
                FieldType.DECIMAL,
                "PD-L1 tumour proportion score",
                unit="%",
                minimum=0,
                maximum=100,
            ),
            Field(
                "pdl1_cps",
                FieldType.DECIMAL,
                "PD-L1 combined positive score",
                minimum=0,
                maximum=100,
            ),
            Field(
                "diameter_mm",
                FieldType.DECIMAL,
                "Equivalent sphere diameter",
                unit="mm",
                required=True,
                minimum=1,
                maximum=200,
            ),
            Field(
                "volume_ml",
                FieldType.DECIMAL,
                "Lesion volume",
                unit="ml",
                required=True,
                minimum=0,
                maximum=5000,
            ),
            Field("shape", FieldType.CODE, "Shape", allowed=("sphere", "ellipsoid")),
            Field("necrotic_core", FieldType.BOOLEAN, "Has a cold necrotic core"),
            Field(
                "centre_x_mm",
                FieldType.DECIMAL,
                "Centre, patient x (LPS: +left)",
                unit="mm",
                required=True,
            ),
            Field(
                "centre_y_mm",
                FieldType.DECIMAL,
                "Centre, patient y (LPS: +posterior)",
                unit="mm",
                required=True,
            ),
            Field(
                "centre_z_mm",
                FieldType.DECIMAL,
                "Centre, patient z (LPS: +superior)",
                unit="mm",
                required=True,
            ),
            Field(
                "label",
                FieldType.INTEGER,
                "Label value in the truth SEG and NIfTI",
                required=True,
                minimum=1,
            ),
        ),
        truth=True,
    ),
    Table(
        "lesion_registry",
        "Lesions identified for the study (at the baseline read or at sampling), without their "
        "biology: where each is, so that reads, pathology and the reference standard can name it "
        "and image measurements can be linked to it by location",
        ("lesion_id",),
        (
            Field("lesion_id", FieldType.STRING, "Identifier, unique in the study", required=True),
            _pid(),
            Field(
                "role",
                FieldType.CODE,
                "Primary tumour, nodal or distant lesion",
                allowed=("primary", "nodal", "distant"),
                required=True,
            ),
            Field("site", FieldType.CODE, "Anatomical site", allowed=LESION_SITES, required=True),
            Field(
                "centre_x_mm",
                FieldType.DECIMAL,
                "Centre, patient x (LPS: +left), in the frame of the study PET",
                unit="mm",
                required=True,
            ),
            Field(
                "centre_y_mm",
                FieldType.DECIMAL,
                "Centre, patient y (LPS: +posterior)",
                unit="mm",
                required=True,
            ),
            Field(
                "centre_z_mm",
                FieldType.DECIMAL,
                "Centre, patient z (LPS: +superior)",
                unit="mm",
                required=True,
            ),
            Field("identified_by", FieldType.STRING, "Who or what identified it (reader id, tool)"),
            Field(
                "diameter_mm",
                FieldType.DECIMAL,
                "Longest diameter measured on CT at identification; petdx sizes the region in "
                "which it measures the lesion from it",
                unit="mm",
                minimum=1,
                maximum=300,
            ),
        ),
    ),
    Table(
        "lesion_uptake",
        "True mean SUVbw of each lesion per tracer and time point, before blur and noise",
        ("lesion_id", "tracer", "time_point_min"),
        (
            Field("lesion_id", FieldType.STRING, "Lesion", required=True),
            _pid(),
            Field("tracer", FieldType.CODE, "Tracer profile", allowed=TRACERS, required=True),
            Field("time_point_min", FieldType.INTEGER, "Uptake time", unit="min", required=True),
            Field(
                "true_suv_mean",
                FieldType.DECIMAL,
                "True mean SUVbw",
                unit="g/ml",
                required=True,
                minimum=0,
            ),
        ),
        truth=True,
    ),
    Table(
        "pathology",
        "Histopathology and PD-L1 immunohistochemistry of sampled lesions",
        ("sample_id",),
        (
            Field("sample_id", FieldType.STRING, "Specimen identifier", required=True),
            _pid(),
            Field("lesion_id", FieldType.STRING, "Sampled lesion", required=True),
            _date("sample_date", "Date of biopsy or surgery", required=True),
            Field(
                "method", FieldType.CODE, "Sampling", allowed=("biopsy", "surgical"), required=True
            ),
            Field(
                "histology",
                FieldType.CODE,
                "Histopathological result",
                allowed=("malignant", "benign", "non_diagnostic"),
                required=True,
            ),
            Field("histology_detail", FieldType.STRING, "Diagnosis in words"),
            Field(
                "pdl1_assay",
                FieldType.CODE,
                "IHC assay",
                allowed=("22C3", "SP263", "28-8", "SP142"),
            ),
            Field(
                "pdl1_tps_pct",
                FieldType.DECIMAL,
                "Tumour proportion score",
                unit="%",
                minimum=0,
                maximum=100,
            ),
            Field("pdl1_cps", FieldType.DECIMAL, "Combined positive score", minimum=0, maximum=100),
        ),
    ),
    Table(
        "reference_standard",
        "Final reference-standard verdict per lesion (histopathology or follow-up composite)",
        ("lesion_id",),
        (
            Field("lesion_id", FieldType.STRING, "Lesion", required=True),
            _pid(),
            Field(
                "standard",
                FieldType.CODE,
                "Which reference standard decided",
                allowed=("histopathology", "follow_up_composite"),
                required=True,
            ),
            Field(
                "outcome", FieldType.CODE, "Verdict", allowed=("malignant", "benign"), required=True
            ),
            _date("assessment_date", "Date of the deciding evidence", required=True),
            Field("basis", FieldType.STRING, "Evidence in words (e.g. growth on follow-up CT)"),
        ),
    ),
    Table(
        "reads",
        "Blinded visual reads: one score per reader, lesion (or patient), tracer, time point",
        ("reader_id", "patient_id", "lesion_id", "tracer", "time_point_min"),
        (
            Field("reader_id", FieldType.STRING, "Reader pseudonym", required=True),
            _pid(),
            Field("lesion_id", FieldType.STRING, "Lesion read; empty for a patient-level read"),
            Field("tracer", FieldType.CODE, "Tracer", allowed=TRACERS, required=True),
            Field(
                "time_point_min", FieldType.INTEGER, "Uptake time read", unit="min", required=True
            ),
            Field(
                "score",
                FieldType.INTEGER,
                "Confidence of malignancy 1-5",
                required=True,
                minimum=1,
                maximum=5,
            ),
            Field(
                "call",
                FieldType.CODE,
                "Reader's call",
                allowed=("positive", "negative", "indeterminate"),
            ),
            Field("read_datetime", FieldType.DATETIME, "When the read was made"),
        ),
    ),
    Table(
        "follow_up",
        "Follow-up events after the study scan",
        ("event_id",),
        (
            Field("event_id", FieldType.STRING, "Identifier of the event", required=True),
            _pid(),
            Field(
                "event",
                FieldType.CODE,
                "Event",
                allowed=("progression", "death", "last_contact"),
                required=True,
            ),
            _date("event_date", "Date of the event", required=True),
            Field("source", FieldType.STRING, "Where it was recorded (e.g. RECIST CT)"),
        ),
    ),
    Table(
        "enrolment_truth",
        "The simulator's own enrolment decision, to check the eligibility engine against",
        ("patient_id",),
        (
            _pid(),
            Field("enrolled", FieldType.BOOLEAN, "Enrolled in the study", required=True),
            Field(
                "failed_criteria",
                FieldType.CODES,
                "Criteria the patient fails (empty when enrolled)",
                allowed=_CRITERION_IDS,
            ),
            Field(
                "unknown_criteria",
                FieldType.CODES,
                "Criteria without evidence (never enrolled while any is unknown)",
                allowed=_CRITERION_IDS,
            ),
        ),
        truth=True,
    ),
)

#: Every table of the exchange format, by name (= CSV file stem).
TABLES: dict[str, Table] = {t.name: t for t in _TABLES}


def dictionary_rows() -> list[dict[str, str]]:
    """The data dictionary as rows: table, field, type, unit, allowed values, required,
    range, description (what ``data_dictionary.csv`` holds)."""
    rows = []
    for table in _TABLES:
        for f in table.fields:
            bounds = ""
            if f.minimum is not None or f.maximum is not None:
                low = "" if f.minimum is None else f"{f.minimum:g}"
                high = "" if f.maximum is None else f"{f.maximum:g}"
                bounds = f"{low}..{high}"
            rows.append(
                {
                    "table": table.name,
                    "field": f.name,
                    "type": f.type.value,
                    "unit": f.unit or "",
                    "allowed_values": ";".join(f.allowed) if f.allowed else "",
                    "required": "true" if f.required else "false",
                    "range": bounds,
                    "description": f.description,
                }
            )
    return rows
