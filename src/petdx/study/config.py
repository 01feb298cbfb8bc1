"""The study folder and its ``study.toml``: tracer, time points, target condition, index-test
positivity rules and the pre-specified analyses.

A study folder holds::

    STUDY/
      study.toml      what this module reads and writes
      study.sqlite    the database (unless study.toml points to PostgreSQL)
      images/         de-identified DICOM copies written by ``petdx ingest``
      logs/           run logs (pseudonyms only)
      audit.key       the audit trail's key (0600; ``[audit] key_file`` moves it)
      audit.anchor    the audit trail's external anchor (``[audit] anchor_file`` moves it)

Positivity rules are stated with their comparison: a read is positive when its visual score
is ``>= visual_score_at_least``; a lesion is SUV-positive when SUVmax ``>= suv_max_at_least``;
the PD-L1 target condition is positive when the chosen score (TPS in %, or CPS) is
``>= pdl1_cutoff``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import tomli_w

from petdx import __version__
from petdx.data_dictionary import TRACERS
from petdx.errors import InputValidationError
from petdx.fileio import atomic_write_text
from petdx.quantify.method import MethodSpec
from petdx.study.layout import StudyLayout

__all__ = [
    "CONFIG_NAME",
    "DEFAULT_ANALYSES",
    "PRIMARY_READ_KINDS",
    "PdL1Score",
    "ReadingConfig",
    "SampleSizePlan",
    "StudyConfig",
    "StudyFolder",
    "TargetCondition",
    "load_config",
    "open_study",
    "write_config",
]

CONFIG_NAME = "study.toml"
_DEFAULT_DB = "sqlite:///study.sqlite"

#: The protocol's primary outcomes (trial record, "Primary Outcome Measures").
DEFAULT_ANALYSES = (
    "lesion_level_accuracy",
    "patient_level_accuracy",
    "roc_visual_score",
    "roc_suv_max",
    "survival",
)


class TargetCondition(StrEnum):
    """What the reference standard decides (docs/protocol.md, "Target conditions")."""

    MALIGNANCY = "malignancy"
    PDL1_POSITIVE = "pdl1_positive"


class PdL1Score(StrEnum):
    """PD-L1 immunohistochemistry score used for the PD-L1 target condition."""

    TPS = "tps"  # tumour proportion score, %
    CPS = "cps"  # combined positive score


#: ``[reading] primary_read`` values that are not a reader id.
PRIMARY_READ_KINDS = ("consensus", "adjudicated")


@dataclass(frozen=True)
class ReadingConfig:
    """``[reading]``: how the reader workstation (:mod:`petdx.study.reading`) runs the reads.

    Attributes
    ----------
    readers
        Reader accounts (role ``reader``) who read every case; empty = every enabled reader
        account but the adjudicator.
    adjudicator
        The reader account that settles discordant calls; None = no adjudication.
    primary_read
        Whose reads the analyses use as the visual index test: a reader id, ``"consensus"``
        (per lesion and patient, the median of the readers' scores, rounded up) or
        ``"adjudicated"`` (the readers' concordant reads, the adjudicator's where they
        differed); None = ``[reads] primary_reader``.
    washout_days
        Session 2 opens this many days after the reader locked session 1.
    time_points
        ``"together"``: one case per patient and tracer holds every time point (60 and 120
        min side by side); ``"apart"``: one case per time point.
    comparator_session
        The comparator tracer (FDG) is read in its own session (session 2, after the
        washout); False = in session 1 with the index tracer.
    """

    readers: tuple[str, ...] = ()
    adjudicator: str | None = None
    primary_read: str | None = None
    washout_days: int = 28
    time_points: str = "together"
    comparator_session: bool = True

    def __post_init__(self) -> None:
        where = f"{CONFIG_NAME}: [reading]"
        if self.time_points not in ("together", "apart"):
            raise InputValidationError(
                f"{where} time_points is '{self.time_points}'; expected 'together' (60 and "
                "120 min read in one case) or 'apart' (one case per time point)."
            )
        if not 0 <= self.washout_days <= 3650:
            raise InputValidationError(
                f"{where} washout_days is {self.washout_days}; expected whole days from 0 "
                "to 3650 between locking session 1 and opening session 2."
            )
        if len(set(self.readers)) != len(self.readers) or any(not r.strip() for r in self.readers):
            raise InputValidationError(
                f"{where} readers {list(self.readers)}: expected distinct reader account names."
            )
        if self.adjudicator is not None and self.adjudicator in self.readers:
            raise InputValidationError(
                f"{where} adjudicator '{self.adjudicator}' is also one of the readers; the "
                "adjudicator must be a third reader account."
            )
        if self.primary_read is not None and not self.primary_read.strip():
            raise InputValidationError(
                f"{where} primary_read is empty; give a reader id, 'consensus' or 'adjudicated'."
            )
        if self.primary_read == "adjudicated" and self.adjudicator is None:
            raise InputValidationError(
                f"{where} primary_read is 'adjudicated' but no adjudicator is named; add "
                'adjudicator = "<reader account>".'
            )
        if (
            self.readers
            and self.primary_read is not None
            and self.primary_read not in PRIMARY_READ_KINDS
            and self.primary_read not in self.readers
        ):
            raise InputValidationError(
                f"{where} primary_read '{self.primary_read}' is not one of the readers "
                f"{list(self.readers)}, 'consensus' or 'adjudicated'."
            )

    def to_toml(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "washout_days": self.washout_days,
            "time_points": self.time_points,
            "comparator_session": self.comparator_session,
        }
        if self.readers:
            out["readers"] = list(self.readers)
        if self.adjudicator:
            out["adjudicator"] = self.adjudicator
        if self.primary_read:
            out["primary_read"] = self.primary_read
        return out


def _reading(doc: Any) -> ReadingConfig:
    if not isinstance(doc, dict):
        raise TypeError(f"[reading] is a table, got {doc!r}")
    readers = doc.get("readers", [])
    if not isinstance(readers, list) or not all(isinstance(r, str) for r in readers):
        raise TypeError(f"[reading] readers is a list of account names, got {readers!r}")
    adjudicator = doc.get("adjudicator")
    primary = doc.get("primary_read")
    return ReadingConfig(
        readers=tuple(readers),
        adjudicator=None if adjudicator in (None, "") else str(adjudicator),
        primary_read=None if primary in (None, "") else str(primary),
        washout_days=int(doc.get("washout_days", 28)),
        time_points=str(doc.get("time_points", "together")),
        comparator_session=bool(doc.get("comparator_session", True)),
    )


@dataclass(frozen=True)
class SampleSizePlan:
    """``[sample_size]`` of ``study.toml``: the intended sample size (STARD 18).

    ``intended`` patients and ``basis``, how the number was determined, in the protocol's
    words (or where it comes from). With the four planning values (expected sensitivity,
    specificity and prevalence, and the wanted half-width of the 95 % intervals) the report
    also gives the size by Buderer's formula (:func:`petdx.stats.sample_size.buderer_sample_size`).
    """

    intended: int | None = None
    basis: str | None = None
    expected_sensitivity: float | None = None
    expected_specificity: float | None = None
    expected_prevalence: float | None = None
    precision: float | None = None

    @property
    def planning(self) -> tuple[float, float, float, float] | None:
        values = (
            self.expected_sensitivity,
            self.expected_specificity,
            self.expected_prevalence,
            self.precision,
        )
        if any(v is None for v in values):
            return None
        return tuple(float(v) for v in values if v is not None)  # type: ignore[return-value]


_SAMPLE_SIZE_KEYS = frozenset(
    ("intended", "basis", "expected_sensitivity", "expected_specificity")
    + ("expected_prevalence", "precision")
)


def _sample_size(table: Any, where: str) -> SampleSizePlan:
    if not isinstance(table, dict):
        raise InputValidationError(f"{where}: [sample_size] must be a table.")
    unknown = sorted(set(table) - _SAMPLE_SIZE_KEYS)
    if unknown:
        raise InputValidationError(
            f"{where}: [sample_size] {', '.join(unknown)}: not a known key; expected "
            f"{', '.join(sorted(_SAMPLE_SIZE_KEYS))}."
        )
    intended = table.get("intended")
    if intended is not None and (
        isinstance(intended, bool) or not isinstance(intended, int) or intended < 1
    ):
        raise InputValidationError(
            f"{where}: [sample_size] intended is {intended!r}; expected a whole number of "
            "patients (at least 1), e.g. intended = 50."
        )
    values: dict[str, float | None] = {}
    for key in ("expected_sensitivity", "expected_specificity", "expected_prevalence", "precision"):
        value = table.get(key)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0 < float(value) < 1
        ):
            raise InputValidationError(
                f"{where}: [sample_size] {key} is {value!r}; expected a proportion strictly "
                "between 0 and 1 (e.g. 0.85; precision 0.1 for +/- 10 points)."
            )
        values[key] = None if value is None else float(value)
    given = [k for k, v in values.items() if v is not None]
    if given and len(given) < len(values):
        missing = sorted(set(values) - set(given))
        raise InputValidationError(
            f"{where}: [sample_size] gives {', '.join(given)} but not {', '.join(missing)}; "
            "Buderer's formula needs all four (or leave all four out)."
        )
    basis = table.get("basis")
    return SampleSizePlan(
        intended=intended,
        basis=None if basis in (None, "") else str(basis),
        **values,
    )


@dataclass(frozen=True)
class StudyConfig:
    """Contents of ``study.toml``.

    Attributes
    ----------
    name
        Study name shown in reports.
    database_url
        SQLAlchemy URL; a relative SQLite path is relative to the study folder.
    tracer
        Tracer profile of the index test (``petdx.tracers``).
    comparator_tracer
        Tracer of the comparator scan, or None.
    time_points_min
        Nominal uptake times (min) of the index-test scans.
    target_condition, pdl1_score, pdl1_cutoff
        Target condition; for PD-L1 positivity, the score and its cut-off (positive when the
        score is ``>=`` the cut-off; TPS in %).
    visual_score_at_least
        A read (score 1-5) is positive when ``score >= visual_score_at_least``.
    suv_max_at_least
        A lesion is SUV-positive when ``SUVmax >= suv_max_at_least`` (g/ml), or None when
        the study pre-specifies no SUV threshold (ROC analysis only).
    analyses
        Pre-specified analyses, by name.
    quantification_method, voi_margin_mm, seed_radius_mm, align_scans
        How ``petdx run`` measures each registered lesion on every PET scan: the
        segmentation method (``percent:41`` = 41 % of SUVmax, EANM) inside a sphere around
        the lesion's registered centre, of radius half its registered diameter plus
        ``voi_margin_mm`` (``seed_radius_mm`` when no diameter is registered); later scans and
        the comparator scan are rigidly aligned to the first index-test scan when
        ``align_scans``.
    primary_reader
        Reader whose reads are the primary visual index test (the others give the
        inter-reader agreement); None = the first reader id in alphabetical order.
    scheduler
        ``[compute] scheduler``: the Dask scheduler (``tcp://HOST:PORT``) ``petdx run`` uses
        when ``--scheduler`` is not given; None = local processes
        (:mod:`petdx.pipeline.dask_cluster`).
    audit_key_file, audit_anchor_file
        ``[audit] key_file`` and ``anchor_file``: where the audit trail's key and anchor are
        kept (:mod:`petdx.study.seal`); relative paths are relative to the study folder;
        None = ``audit.key`` and ``audit.anchor`` in the study folder.
    reading
        ``[reading]``: readers, adjudicator, primary read, sessions and washout
        (:class:`ReadingConfig`).
    registration
        ``[registration] number``: the trial's registry and number as the report gives it
        (STARD 28), e.g. ``ClinicalTrials.gov NCT01234567``; None = not given (the report says
        so rather than inventing one).
    sample_size
        ``[sample_size]``: the intended sample size and how it was determined (STARD 18).
    """

    name: str = "petdx study"
    database_url: str = _DEFAULT_DB
    tracer: str = "ga68-dota-blp"
    comparator_tracer: str | None = "f18-fdg"
    time_points_min: tuple[int, ...] = (60,)
    target_condition: TargetCondition = TargetCondition.MALIGNANCY
    pdl1_score: PdL1Score = PdL1Score.TPS
    pdl1_cutoff: float = 1.0
    visual_score_at_least: int = 3
    suv_max_at_least: float | None = None
    analyses: tuple[str, ...] = DEFAULT_ANALYSES
    quantification_method: str = "percent:41"
    voi_margin_mm: float = 5.0
    seed_radius_mm: float = 20.0
    align_scans: bool = True
    primary_reader: str | None = None
    scheduler: str | None = None
    audit_key_file: str | None = None
    audit_anchor_file: str | None = None
    reading: ReadingConfig = field(default_factory=ReadingConfig)
    registration: str | None = None
    sample_size: SampleSizePlan = field(default_factory=lambda: SampleSizePlan())
    created_utc: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )
    petdx_version: str = __version__

    def __post_init__(self) -> None:
        _check_config(self)

    def to_dict(self) -> dict[str, Any]:
        """The settings that define the study's results (where the work runs, ``scheduler``,
        does not: it is left out, so results and their input hash do not depend on it)."""
        out = asdict(self)
        out.pop("scheduler")
        out.pop("audit_key_file")
        out.pop("audit_anchor_file")
        if self.reading == ReadingConfig():  # studies without [reading] keep their hash
            out.pop("reading")
        else:
            out["reading"]["readers"] = list(self.reading.readers)
        # what the report says of the trial (STARD 18, 28), not what defines its results
        out.pop("registration")
        out.pop("sample_size")
        out["target_condition"] = self.target_condition.value
        out["pdl1_score"] = self.pdl1_score.value
        out["time_points_min"] = list(self.time_points_min)
        out["analyses"] = list(self.analyses)
        return out

    def to_toml(self) -> str:
        doc: dict[str, Any] = {
            "study": {
                "name": self.name,
                "created_utc": self.created_utc,
                "petdx_version": self.petdx_version,
            },
            "database": {"url": self.database_url},
            "tracer": {"profile": self.tracer, "time_points_min": list(self.time_points_min)},
            "target_condition": {
                "kind": self.target_condition.value,
                "pdl1_score": self.pdl1_score.value,
                "pdl1_cutoff": self.pdl1_cutoff,
            },
            "index_test": {"visual_score_at_least": self.visual_score_at_least},
            "analyses": {"pre_specified": list(self.analyses)},
            "quantification": {
                "method": self.quantification_method,
                "voi_margin_mm": self.voi_margin_mm,
                "seed_radius_mm": self.seed_radius_mm,
                "align_scans": self.align_scans,
            },
            "reads": {},
        }
        if self.primary_reader:
            doc["reads"]["primary_reader"] = self.primary_reader
        if self.reading != ReadingConfig():
            doc["reading"] = self.reading.to_toml()
        if self.scheduler:
            doc["compute"] = {"scheduler": self.scheduler}
        audit = {"key_file": self.audit_key_file, "anchor_file": self.audit_anchor_file}
        if any(audit.values()):
            doc["audit"] = {k: v for k, v in audit.items() if v}
        if self.registration:
            doc["registration"] = {"number": self.registration}
        plan = {k: v for k, v in asdict(self.sample_size).items() if v is not None}
        if plan:
            doc["sample_size"] = plan
        if self.comparator_tracer:
            doc["tracer"]["comparator"] = self.comparator_tracer
        if self.suv_max_at_least is not None:
            doc["index_test"]["suv_max_at_least"] = self.suv_max_at_least
        header = (
            "# petdx study configuration. Positivity: read positive when visual score >=\n"
            "# visual_score_at_least; SUV-positive when SUVmax >= suv_max_at_least (g/ml);\n"
            "# PD-L1 positive when the score (TPS %, or CPS) >= pdl1_cutoff.\n"
        )
        return header + tomli_w.dumps(doc)

    def __str__(self) -> str:
        points = ", ".join(f"{t} min" for t in self.time_points_min)
        return (
            f"{self.name}: {self.tracer} at {points}; target {self.target_condition.value}; "
            f"read positive at score >= {self.visual_score_at_least}"
        )


def _check_config(config: StudyConfig) -> None:
    where = f"{CONFIG_NAME}"
    if config.tracer not in TRACERS:
        raise InputValidationError(
            f"{where}: tracer '{config.tracer}' is not a known tracer profile; expected one of "
            f"{', '.join(TRACERS)}."
        )
    if config.comparator_tracer is not None and config.comparator_tracer not in TRACERS:
        raise InputValidationError(
            f"{where}: comparator tracer '{config.comparator_tracer}' is not a known tracer "
            f"profile; expected one of {', '.join(TRACERS)}."
        )
    if not config.time_points_min or any(t <= 0 for t in config.time_points_min):
        raise InputValidationError(
            f"{where}: time_points_min {list(config.time_points_min)} must be one or more "
            "positive uptake times in minutes, e.g. [60, 120]."
        )
    if not 1 <= config.visual_score_at_least <= 5:
        raise InputValidationError(
            f"{where}: visual_score_at_least is {config.visual_score_at_least}; expected an "
            "integer from 1 to 5 (the read scale)."
        )
    if not math.isfinite(config.pdl1_cutoff):
        raise InputValidationError(
            f"{where}: pdl1_cutoff is {config.pdl1_cutoff}; expected a finite number (the "
            f"{config.pdl1_score.value.upper()} score at which PD-L1 is positive, e.g. 1 or 50)."
        )
    if config.pdl1_cutoff < 0 or (config.pdl1_score is PdL1Score.TPS and config.pdl1_cutoff > 100):
        raise InputValidationError(
            f"{where}: pdl1_cutoff {config.pdl1_cutoff} is outside the range of the "
            f"{config.pdl1_score.value.upper()} score (TPS 0-100 %, CPS >= 0)."
        )
    try:
        MethodSpec.parse(config.quantification_method)
    except InputValidationError as exc:
        raise InputValidationError(f"{where}: quantification.method: {exc}") from None
    if not 0.0 <= config.voi_margin_mm <= 50.0:
        raise InputValidationError(
            f"{where}: quantification.voi_margin_mm is {config.voi_margin_mm}; expected a "
            "margin in mm between 0 and 50 around the lesion's registered radius."
        )
    if not 2.0 <= config.seed_radius_mm <= 100.0:
        raise InputValidationError(
            f"{where}: quantification.seed_radius_mm is {config.seed_radius_mm}; expected a "
            "radius in mm between 2 and 100 (the sphere around each lesion's centre)."
        )
    if config.suv_max_at_least is not None and not (
        math.isfinite(config.suv_max_at_least) and config.suv_max_at_least > 0
    ):
        raise InputValidationError(
            f"{where}: suv_max_at_least is {config.suv_max_at_least}; expected a positive "
            "SUVmax (g/ml) or no value."
        )


def _enum(cls: type[StrEnum], value: Any, where: str, name: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise InputValidationError(
            f"{where}: {name} is '{value}'; expected one of {allowed}."
        ) from None


def _optional_path(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError(f"[audit] paths are strings, got {value!r}")
    return value


def load_config(path: str | Path) -> StudyConfig:
    """Read and validate a ``study.toml``.

    Raises
    ------
    InputValidationError
        The file is missing, not TOML, or a value is out of range (the message names the key).
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputValidationError(
            f"{path}: no study configuration here. Create the study with `petdx init "
            f"{path.parent}` first."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputValidationError(f"{path}: not valid TOML ({exc}). Fix the file.") from None
    where = str(path)
    pacs = doc.get("pacs")
    if isinstance(pacs, dict) and "password" in pacs:
        raise InputValidationError(
            f"{where}: [pacs] password: a password is never kept in study.toml (the file "
            "travels with the study). Remove the key and put the password in a file named by "
            "password_file, or in an environment variable named by password_env."
        )
    try:
        study = doc.get("study", {})
        tracer = doc.get("tracer", {})
        target = doc.get("target_condition", {})
        index_test = doc.get("index_test", {})
        quant = doc.get("quantification", {})
        return StudyConfig(
            name=str(study.get("name", "petdx study")),
            created_utc=str(study.get("created_utc", "")),
            petdx_version=str(study.get("petdx_version", "")),
            database_url=str(doc.get("database", {}).get("url", _DEFAULT_DB)),
            tracer=str(tracer.get("profile", "ga68-dota-blp")),
            comparator_tracer=tracer.get("comparator"),
            time_points_min=tuple(int(t) for t in tracer.get("time_points_min", (60,))),
            target_condition=_enum(
                TargetCondition, target.get("kind", "malignancy"), where, "target_condition.kind"
            ),
            pdl1_score=_enum(PdL1Score, target.get("pdl1_score", "tps"), where, "pdl1_score"),
            pdl1_cutoff=float(target.get("pdl1_cutoff", 1.0)),
            visual_score_at_least=int(index_test.get("visual_score_at_least", 3)),
            suv_max_at_least=(
                None
                if index_test.get("suv_max_at_least") is None
                else float(index_test["suv_max_at_least"])
            ),
            analyses=tuple(
                str(a) for a in doc.get("analyses", {}).get("pre_specified", DEFAULT_ANALYSES)
            ),
            quantification_method=str(quant.get("method", "percent:41")),
            voi_margin_mm=float(quant.get("voi_margin_mm", 5.0)),
            seed_radius_mm=float(quant.get("seed_radius_mm", 20.0)),
            align_scans=bool(quant.get("align_scans", True)),
            primary_reader=doc.get("reads", {}).get("primary_reader"),
            scheduler=doc.get("compute", {}).get("scheduler"),
            audit_key_file=_optional_path(doc.get("audit", {}).get("key_file")),
            audit_anchor_file=_optional_path(doc.get("audit", {}).get("anchor_file")),
            reading=_reading(doc.get("reading", {})),
            registration=(
                str(number)
                if (number := doc.get("registration", {}).get("number")) not in (None, "")
                else None
            ),
            sample_size=_sample_size(doc.get("sample_size", {}), where),
        )
    except InputValidationError as exc:
        message = str(exc)
        if message.startswith(f"{CONFIG_NAME}:"):  # the dataclass's own checks name the file
            message = where + message[len(CONFIG_NAME) :]
        raise InputValidationError(message, hint=exc.hint) from None
    except (TypeError, ValueError) as exc:
        raise InputValidationError(f"{where}: a value has the wrong type ({exc}).") from None


def write_config(folder: str | Path, config: StudyConfig) -> Path:
    """Write ``study.toml`` into ``folder`` (atomically)."""
    return atomic_write_text(Path(folder) / CONFIG_NAME, config.to_toml())


@dataclass(frozen=True)
class StudyFolder:
    """An initialised study folder: its configuration and where things go."""

    root: Path
    config: StudyConfig

    @property
    def layout(self) -> StudyLayout:
        """Where everything of the folder lives (:mod:`petdx.study.layout`)."""
        return StudyLayout(self.root)

    @property
    def images(self) -> Path:
        return self.layout.images

    @property
    def logs(self) -> Path:
        return self.layout.logs

    def _audit_path(self, configured: str | None, default: Path) -> Path:
        if not configured:
            return default
        path = Path(configured).expanduser()
        return path if path.is_absolute() else self.root / path

    @property
    def audit_key_path(self) -> Path:
        """The audit key file (``[audit] key_file``, default ``audit.key`` in the folder)."""
        return self._audit_path(self.config.audit_key_file, self.layout.audit_key)

    @property
    def audit_anchor_path(self) -> Path:
        """The audit anchor file (``[audit] anchor_file``, default ``audit.anchor``)."""
        return self._audit_path(self.config.audit_anchor_file, self.layout.audit_anchor)

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL with a relative SQLite path resolved against the folder (a SQLite
        URI filename, ``sqlite:///file:...?uri=true``, is passed on as written)."""
        url = self.config.database_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/"):
            relative = url[len(prefix) :]
            if relative and relative != ":memory:" and not relative.startswith("file:"):
                return prefix + str((self.root / relative).resolve())
        return url


def open_study(root: str | Path) -> StudyFolder:
    """Open the study folder at ``root`` (reads ``study.toml``).

    Raises
    ------
    InputValidationError
        ``root`` is not a study folder or its configuration is invalid.
    """
    root_path = Path(root).resolve()
    if not root_path.is_dir():
        raise InputValidationError(
            f"{root_path}: no such study folder. Create it with `petdx init {root}`."
        )
    return StudyFolder(root_path, load_config(root_path / CONFIG_NAME))
