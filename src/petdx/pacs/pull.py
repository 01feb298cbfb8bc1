"""``petdx pacs pull``: the enrolled patients' PET and CT series from the PACS into the study.

1. **Find** (QIDO-RS): for every hospital identifier of the identity table
   (``patient_identity``; the enrolled patients, or those named), the series of that
   PatientID; a series is the patient's by the rule ingest applies (IssuerOfPatientID and
   PatientID, else PatientID alone, in the identity table). PET (PT), CT and MR series are
   found; ``since`` keeps studies dated on or after a day (``StudyDate`` range ``D-``).
2. **Retrieve** (WADO-RS, streamed): study by study, each series one instance at a time
   into a temporary staging folder of the study (``.petdx/pacs-staging``), never a whole
   study in memory. A series whose instances are all recorded already is not retrieved
   again; a series that arrives with fewer instances than QIDO-RS announced is not ingested
   (a problem names it).
3. **Ingest**: the staged study goes through :func:`petdx.pipeline.ingest.ingest` as a
   :class:`PacsStudySource` (the image-source seam), exactly as ``petdx ingest`` of a
   folder: the same de-identified copies, SUV checks, visits and rows. The staging folder is
   removed when the study is ingested (and at the start of the next pull after a crash).

MR series are found and counted but not retrieved: ingest stores PET and CT series only.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from petdx.dicom import deidentify_uid
from petdx.dicom.deidentified_file import DeidentifiedFileEncoder
from petdx.dicom.deidentify import DeidentificationSettings, redact_uids
from petdx.dicom.discovery import DicomIndex, index_dicom_folder
from petdx.dicom.discovery import ProgressCallback as IndexProgress
from petdx.errors import Hint, InputValidationError
from petdx.fileio import atomic_write_text, exclusive_lock
from petdx.pacs.client import OrthancRest, PacsConnection, PacsError, connect, orthanc_rest
from petdx.pacs.config import PacsConfig, PacsConfigError
from petdx.pipeline.ingest import IngestedSeries, IngestProblem, ingest
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.study.queries import (
    patient_identities,
    recorded_instance_digests,
    recorded_instance_uids,
)
from petdx.study.records import Author

__all__ = ["PacsSeries", "PacsStudySource", "PullResult", "find_series", "pull"]

ProgressCallback = Callable[[int, int], None]
#: The modalities pull looks for; ingest stores the first two.
FOUND_MODALITIES = ("PT", "CT", "MR")
INGESTED_MODALITIES = frozenset({"PT", "CT"})
_FIELDS = (
    "PatientID",
    "IssuerOfPatientID",
    "StudyInstanceUID",
    "StudyDate",
    "SeriesInstanceUID",
    "Modality",
    "NumberOfSeriesRelatedInstances",
)


@dataclass(frozen=True)
class PacsSeries:
    """A series of an enrolled patient found in the PACS (original UIDs, site only)."""

    patient_id: str  # the study pseudonym
    study_uid: str
    series_uid: str
    modality: str
    n_instances: int | None
    study_date: str


@dataclass(frozen=True)
class PullResult:
    """What a pull found, retrieved and stored. Series are named by de-identified UIDs."""

    n_found: int
    n_retrieved: int
    n_up_to_date: int
    n_not_ingested_mr: int
    series: tuple[IngestedSeries, ...]
    problems: tuple[IngestProblem, ...]
    checks: str = "uids"
    n_md5_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def n_written(self) -> int:
        return sum(s.n_written for s in self.series)

    def to_dict(self) -> dict[str, Any]:
        return {
            "series_found": self.n_found,
            "instances_retrieved": self.n_retrieved,
            "series_already_stored": self.n_up_to_date,
            "mr_series_not_ingested": self.n_not_ingested_mr,
            "series": [s.to_dict() for s in self.series],
            "n_instances_written": self.n_written,
            "checks": self.checks,
            "instances_md5_checked": self.n_md5_checked,
            "problems": [p.to_dict(with_folder=False) for p in self.problems],
        }

    def __str__(self) -> str:
        text = (
            f"{self.n_found} series found in the PACS, {self.n_retrieved} instance(s) "
            f"retrieved; {len(self.series)} series ingested ({self.n_written} instance file(s) "
            f"written), {self.n_up_to_date} already stored, {len(self.problems)} problem(s)"
        )
        if self.n_not_ingested_mr:
            text += f"; {self.n_not_ingested_mr} MR series not ingested (PET and CT only)"
        return text


def _text(ds: Dataset, keyword: str) -> str:
    return str(ds.get(keyword, "") or "").strip()


def find_series(
    connection: PacsConnection,
    identities: dict[tuple[str, str], str],
    *,
    patients: Sequence[str] = (),
    since: date | None = None,
    studies: Sequence[str] = (),
) -> list[PacsSeries]:
    """QIDO-RS: the PT, CT and MR series of the identity table's patients (or of the
    pseudonyms ``patients``; of the studies ``studies`` only, when given), in pseudonym,
    study date and UID order.

    Raises
    ------
    InputValidationError
        A pseudonym of ``patients`` has no hospital identifier in the identity table.
    PacsError
        The PACS cannot be reached, refuses the account or fails.
    """
    wanted = set(patients)
    known = set(identities.values())
    missing = sorted(wanted - known)
    if missing:
        raise InputValidationError(
            f"patients {missing[0]}: no hospital identifier in the identity table for this "
            "pseudonym. Import it with `petdx import STUDY patient_identity FILE.csv` or name "
            "an enrolled patient.",
            hint=Hint("patients"),
        )
    hospital_ids = sorted(
        {hid for (_, hid), pseudonym in identities.items() if not wanted or pseudonym in wanted}
    )
    found: dict[str, PacsSeries] = {}
    for hid in hospital_ids:
        if not hid or any(c in hid for c in "*?\\"):
            continue  # a QIDO-RS wildcard would match other patients
        filters: dict[str, Any] = {"PatientID": hid}
        if since is not None:
            filters["StudyDate"] = f"{since:%Y%m%d}-"
        queries = [{**filters, "StudyInstanceUID": uid} for uid in studies] or [filters]
        answers = [ds for query in queries for ds in connection.search_series(query, _FIELDS)]
        for ds in answers:
            if _text(ds, "PatientID") != hid:
                continue
            issuer = _text(ds, "IssuerOfPatientID")
            pseudonym = identities.get((issuer, hid)) or identities.get(("", hid))
            if pseudonym is None or (wanted and pseudonym not in wanted):
                continue
            modality = _text(ds, "Modality")
            series_uid = _text(ds, "SeriesInstanceUID")
            if modality not in FOUND_MODALITIES or not series_uid:
                continue
            count = ds.get("NumberOfSeriesRelatedInstances")
            found[series_uid] = PacsSeries(
                patient_id=pseudonym,
                study_uid=_text(ds, "StudyInstanceUID"),
                series_uid=series_uid,
                modality=modality,
                n_instances=None if count in (None, "") else int(count),
                study_date=_text(ds, "StudyDate"),
            )
    return sorted(
        found.values(), key=lambda s: (s.patient_id, s.study_date, s.study_uid, s.series_uid)
    )


@dataclass
class PacsStudySource:
    """One study's series retrieved from the PACS into ``staging``, as an image source.

    :meth:`index` retrieves (WADO-RS, streamed, each instance written as the bytes the PACS
    sent), checks each series against the PACS (:meth:`_verify`) and indexes the staged
    files. A series that fails or fails its checks is removed from staging (never ingested),
    recorded in ``quarantine`` and named in :attr:`problems`. ``tick(n)`` is called as
    instances arrive."""

    connection: PacsConnection
    series: Sequence[PacsSeries]
    staging: Path
    tick: Callable[[int], None] = lambda n: None
    problems: list[IngestProblem] = field(default_factory=list)
    n_retrieved: int = 0
    secret: bytes = b""
    rest: OrthancRest | None = None
    quarantine: Path | None = None
    n_md5_checked: int = 0
    database: StudyDatabase | None = None

    @property
    def label(self) -> str:
        return f"PACS {self.connection.config.url}"

    @property
    def root(self) -> Path | None:
        return self.staging

    def index(self, *, progress: IndexProgress | None = None) -> DicomIndex:
        # Orthanc's MD5 list of a series is fetched by a thread of its own (its own HTTP
        # session) while the series streams in: the check then costs no time.
        with ThreadPoolExecutor(max_workers=1) as pool:
            for position, item in enumerate(self.series):
                self._one(position, item, pool)
        return index_dicom_folder(self.staging, progress=progress)

    def _one(self, position: int, item: PacsSeries, pool: ThreadPoolExecutor) -> None:
        folder = self.staging / f"{position:04d}_{item.modality}"
        folder.mkdir(parents=True)
        stored: Future[dict[str, str]] | None = None
        if self.rest is not None:
            stored = pool.submit(self.rest.series_md5, item.series_uid)
        try:
            retrieved = self._retrieve(item, folder)
            failure = self._verify(item, retrieved, None if stored is None else stored.result())
            if failure is None:
                failure = self._conflict(item, folder, len(retrieved))
        except PacsError as exc:
            shutil.rmtree(folder)
            if stored is not None:
                stored.cancel()
            self._refuse(item, str(exc), "retrieval failed", record=False)
            if exc.stage in ("server", "authentication"):
                raise
            return
        if failure is not None:
            shutil.rmtree(folder)
            self._refuse(item, failure, "failed its checks against the PACS", record=True)
        elif self.quarantine is not None:
            (self.quarantine / f"{self._deid(item)}.json").unlink(missing_ok=True)

    def _deid(self, item: PacsSeries) -> str:
        return deidentify_uid(self.secret, item.series_uid)

    def _name(self, item: PacsSeries) -> str:
        return (
            f"{item.patient_id} {item.modality} series of {item.study_date or 'no date'} "
            f"(de-identified series UID {self._deid(item)})"
        )

    def _refuse(self, item: PacsSeries, why: str, what: str, *, record: bool) -> None:
        fix = "Pull again (petdx pacs pull STUDY --patient " + item.patient_id + ")"
        message = (
            f"{self._name(item)}: {what}, not ingested (nothing of it is stored): "
            f"{why.rstrip('.')}. "
            f"{fix} once the PACS holds the whole, intact series; if it fails again, ask the "
            "PACS administrator to check the series (its files or a resend from the scanner)."
        )
        log = redact_uids(
            message.replace(item.series_uid, "[series]"), None, frozenset({self._deid(item)})
        )
        self.problems.append(
            IngestProblem(
                item.series_uid,
                self.label,
                message,
                handle=f"{item.patient_id}/{self._deid(item)}",
                log_message=log,
            )
        )
        if record and self.quarantine is not None:
            self.quarantine.mkdir(parents=True, exist_ok=True)
            entry = {
                "at_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "patient_id": item.patient_id,
                "modality": item.modality,
                "study_date": item.study_date,
                "series_uid_deidentified": self._deid(item),
                "reason": log,
            }
            atomic_write_text(
                self.quarantine / f"{self._deid(item)}.json", json.dumps(entry, indent=2)
            )

    def _retrieve(self, item: PacsSeries, folder: Path) -> list[tuple[str, str]]:
        """Stream the series into ``folder``; (SOP Instance UID, MD5) of each instance."""
        got: list[tuple[str, str]] = []
        for data in self.connection.iter_series_files(item.study_uid, item.series_uid):
            path = folder / f"{len(got):06d}.dcm"
            path.write_bytes(data)
            try:
                ds = pydicom.dcmread(
                    io.BytesIO(data), stop_before_pixels=True, specific_tags=["SOPInstanceUID"]
                )
                sop = str(ds.get("SOPInstanceUID", ""))
            except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
                sop = f"<unreadable part {len(got) + 1}: {type(exc).__name__}>"
            got.append((sop, hashlib.md5(data, usedforsecurity=False).hexdigest()))
            self.n_retrieved += 1
            self.tick(1)
        return got

    def _conflict(self, item: PacsSeries, folder: Path, n: int) -> str | None:
        """Why the series conflicts with what the study stores, or None: an instance whose
        SOP Instance UID is stored already but whose de-identified copy (made exactly as
        ingest makes it) differs from the stored file's SHA-256. Ingest would skip it
        (idempotence by UID); petdx never overwrites a stored instance, so the series is
        quarantined instead, and the stored copy stays as it is."""
        if self.database is None:
            return None
        series_uid = self._deid(item)
        with self.database.engine.connect() as db:
            recorded = recorded_instance_digests(db, series_uid)
        if not recorded:
            return None
        encoder = DeidentifiedFileEncoder(DeidentificationSettings(self.secret, item.patient_id))
        differ: list[str] = []
        for k in range(n):
            path = folder / f"{k:06d}.dcm"
            header = pydicom.dcmread(path)
            sop = deidentify_uid(self.secret, str(header.SOPInstanceUID))
            if sop in recorded:
                digest = hashlib.sha256(encoder.encode(header)).hexdigest()
                if digest != recorded[sop]:
                    differ.append(sop)
        if not differ:
            return None
        return (
            f"{len(differ)} instance(s) arrived with a SOP Instance UID the study stores "
            f"already but different content (first: de-identified SOP Instance UID "
            f"{differ[0]}); petdx never overwrites a stored instance. Ask the PACS "
            "administrator which version is right (the series may have been edited or "
            "re-sent with changes)"
        )

    def _verify(
        self, item: PacsSeries, got: list[tuple[str, str]], stored: dict[str, str] | None
    ) -> str | None:
        """Why the retrieved series differs from what the PACS holds, or None.

        1. the number of instances equals QIDO-RS NumberOfSeriesRelatedInstances;
        2. the SOP Instance UIDs equal the PACS's list (QIDO-RS, none missing, extra or
           twice), each part a readable DICOM file;
        3. with Orthanc (``stored``: SOP Instance UID -> MD5 from its REST API, the list of
           2 then from there too), the MD5 of every file equals the MD5 Orthanc recorded
           when it stored the file (DICOMweb itself carries no checksum)."""
        n = len(got)
        if item.n_instances is not None and n != item.n_instances:
            return f"{n} instance(s) retrieved, the PACS lists {item.n_instances}"
        unreadable = [sop for sop, _ in got if sop.startswith("<") or not sop]
        if unreadable:
            return f"a retrieved part is not a DICOM file ({unreadable[0]})"
        listed = (
            list(stored)
            if stored is not None
            else self.connection.instance_uids(item.study_uid, item.series_uid)
        )
        uids = [sop for sop, _ in got]
        if len(set(uids)) != len(uids):
            return f"{len(uids) - len(set(uids))} instance(s) arrived twice"
        if set(uids) != set(listed):
            missing, extra = set(listed) - set(uids), set(uids) - set(listed)
            return (
                f"the instances differ from the PACS's list ({len(missing)} missing, "
                f"{len(extra)} not listed)"
            )
        if stored is None:
            return None
        bad = [k for k, (sop, md5) in enumerate(got) if stored.get(sop) != md5]
        self.n_md5_checked += n - len(bad)
        if bad:
            return (
                f"{len(bad)} of {n} instance(s) differ from the file the PACS stores (MD5 of "
                f"instance {bad[0] + 1} of the retrieval: "
                f"{got[bad[0]][1]}, Orthanc: {stored.get(got[bad[0]][0], 'none')})"
            )
        return None


def _pull_lock(study: StudyFolder) -> contextlib.AbstractContextManager[None]:
    """One pull per study at a time: a second pull would remove the first one's staging."""
    path = study.layout.pacs_lock
    path.parent.mkdir(parents=True, exist_ok=True)
    return exclusive_lock(
        path, f"{study.root}: another petdx pacs pull is running on this study; wait for it."
    )


def _fully_stored(database: StudyDatabase, secret: bytes, item: PacsSeries) -> bool:
    if item.n_instances is None:
        return False
    with database.engine.connect() as connection:
        recorded = recorded_instance_uids(connection, deidentify_uid(secret, item.series_uid))
    return len(recorded) >= item.n_instances


def _checksum_source(pacs: PacsConnection) -> OrthancRest | None:
    """Orthanc's REST API for the MD5 check (``[pacs] checksums``), or None (UIDs only).

    Raises
    ------
    PacsConfigError
        ``checksums = "orthanc-md5"`` and the server does not answer as Orthanc.
    """
    mode = pacs.config.checksums
    if mode == "uids":
        return None
    rest = orthanc_rest(pacs)
    if rest is not None:  # its own HTTP session: it runs in a thread beside the retrieval
        return OrthancRest(connect(pacs.config), rest.base)
    if mode == "orthanc-md5":
        raise PacsConfigError(
            f'{pacs.config.where}: [pacs] checksums = "orthanc-md5" but '
            f"{pacs.config.orthanc_url or pacs.config.url} does not answer Orthanc's REST API "
            '(/system). Set [pacs] orthanc_url to Orthanc\'s REST root, or checksums = "uids".'
        )
    return None


def _by_study(series: Iterable[PacsSeries]) -> list[list[PacsSeries]]:
    groups: dict[str, list[PacsSeries]] = {}
    for item in series:
        groups.setdefault(item.study_uid, []).append(item)
    return list(groups.values())


def pull(
    study: StudyFolder,
    database: StudyDatabase,
    config: PacsConfig,
    *,
    author: Author,
    patients: Sequence[str] = (),
    since: date | None = None,
    progress: ProgressCallback | None = None,
    connection: PacsConnection | None = None,
    studies: Sequence[str] = (),
) -> PullResult:
    """Pull the enrolled patients' PET and CT series from the PACS (module docstring).

    Parameters
    ----------
    patients
        Pseudonyms to pull (default: every patient of the identity table).
    since
        Only studies dated on or after this day.
    progress
        Called as ``progress(done, total)`` in instances as they are retrieved.

    Returns
    -------
    PullResult
        Series stored and refused; the good series of a run are stored even when others
        fail.

    Raises
    ------
    PacsConfigError, PacsError, InputValidationError
        The configuration or password is wrong, the PACS cannot be reached or refuses the
        account (before anything is stored), or a named patient is unknown.
    """
    with _pull_lock(study):
        return _pull(
            study, database, config, author, patients, since, progress, connection, studies
        )


def _pull(
    study: StudyFolder,
    database: StudyDatabase,
    config: PacsConfig,
    author: Author,
    patients: Sequence[str],
    since: date | None,
    progress: ProgressCallback | None,
    connection: PacsConnection | None,
    studies: Sequence[str] = (),
) -> PullResult:
    own = connection is None
    pacs = connect(config) if connection is None else connection
    staging_root = study.layout.pacs_staging
    shutil.rmtree(staging_root, ignore_errors=True)  # a crashed pull's leftovers
    closing = contextlib.ExitStack()
    try:
        with database.engine.connect() as db:
            identities = patient_identities(db)
        found = find_series(pacs, identities, patients=patients, since=since, studies=studies)
        secret = database.secret()
        mr = [s for s in found if s.modality not in INGESTED_MODALITIES]
        wanted = [s for s in found if s.modality in INGESTED_MODALITIES]
        stored_already = [s for s in wanted if _fully_stored(database, secret, s)]
        to_pull = [s for s in wanted if s not in stored_already]
        rest = _checksum_source(pacs) if to_pull else None
        if rest is not None:
            closing.callback(rest.connection.close)
        total = sum(s.n_instances or 0 for s in to_pull)
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, max(total, done))

        stored: list[IngestedSeries] = []
        problems: list[IngestProblem] = []
        retrieved = md5_checked = 0
        for group in _by_study(to_pull):
            staging_root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix="study-", dir=staging_root))
            source = PacsStudySource(
                pacs,
                group,
                staging,
                tick,
                secret=secret,
                rest=rest,
                quarantine=study.layout.pacs_quarantine,
                database=database,
            )
            try:
                result = ingest(study, database, source, author=author)
            except PacsError:
                problems.extend(source.problems)
                break  # the server went away or refused the account: stop, keep what is stored
            finally:
                retrieved += source.n_retrieved
                md5_checked += source.n_md5_checked
                shutil.rmtree(staging, ignore_errors=True)
            stored.extend(result.series)
            problems.extend(source.problems)
            problems.extend(replace(p, folder="PACS") for p in result.problems)
        return PullResult(
            n_found=len(found),
            n_retrieved=retrieved,
            n_up_to_date=len(stored_already),
            n_not_ingested_mr=len(mr),
            series=tuple(stored),
            problems=tuple(problems),
            checks="orthanc-md5" if rest is not None else "uids",
            n_md5_checked=md5_checked,
        )
    finally:
        with contextlib.suppress(OSError):
            if staging_root.is_dir() and not any(staging_root.iterdir()):
                staging_root.rmdir()
        closing.close()
        if own:
            pacs.close()
