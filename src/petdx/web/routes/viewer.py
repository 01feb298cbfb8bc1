"""The reader's viewer: the volumes of a case as NIfTI (route ``reader_volume``).

``GET /read/cases/{case_id}/series/{series_uid}/volume.nii.gz`` answers a reader with one
series of their case: the case is resolved by :func:`petdx.study.reading.reader_case` first
(another reader's case, or one of a locked session: 403; no such case: 404), and a series
that is not one of the case's PET or anatomy series is refused (404) before anything is read.
The series' folder comes from the reader layer (:class:`petdx.study.blinding.ReaderView`):
only the de-identified store (``images/``) is served, converted by
:func:`petdx.pipeline.viewer_volumes.viewer_volume` (PET in SUVbw, or Bq/ml when SUV cannot
be computed) and cached per series. No DICOM header is sent: the response is the NIfTI file,
its unit in ``x-petdx-unit`` and, when the PET is not in SUV, the reason in
``x-petdx-warning``.

The page side is ``templates/reader/viewer.html`` (a partial of the case page) and
``static/viewer.js`` (NiiVue, vendored under ``static/vendor/niivue/``).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import FileResponse, Response

from petdx.errors import PetdxError
from petdx.pipeline.viewer_volumes import ViewerVolume, viewer_volume
from petdx.study.blinding import ReaderView
from petdx.study.forms import AccessRefused
from petdx.study.reading import CaseNotFound, reader_case
from petdx.web.security import current_session
from petdx.web.templating import web_state

__all__ = ["router"]

router = APIRouter(prefix="/read")


def _volume(request: Request, case_id: str, series_uid: str) -> ViewerVolume:
    state = web_state(request)
    reader_id = current_session(request).account.name
    with state.database.read() as connection:
        try:
            case = reader_case(connection, reader_id, case_id)
        except CaseNotFound:
            raise HTTPException(404, "No such case in your worklist.") from None
        except AccessRefused as exc:
            raise HTTPException(403, str(exc)) from None
        if not series_uid or series_uid not in (*case.pet_series_uids, *case.anatomy_series_uids):
            raise HTTPException(404, "This series is not part of the case.")
        rows = [
            r for r in ReaderView(connection, reader_id).worklist() if r["series_uid"] == series_uid
        ]
    if not rows:
        raise HTTPException(404, "This series is not in the study's images.")
    row = rows[0]
    try:
        return viewer_volume(
            state.study.layout,
            patient_id=str(row["patient_id"]),
            series_uid=series_uid,
            folder=str(row["folder"]),
        )
    except PetdxError as exc:
        raise HTTPException(422, f"The series could not be shown: {exc}") from None


@router.get("/cases/{case_id}/series/{series_uid}/volume.nii.gz", name="reader_volume")
def reader_volume(request: Request, case_id: str, series_uid: str) -> Response:
    volume = _volume(request, case_id, series_uid)
    headers = {"x-petdx-unit": volume.unit}
    if volume.warning:
        headers["x-petdx-warning"] = volume.warning.encode("ascii", "replace").decode("ascii")
    return FileResponse(volume.path, media_type="application/gzip", headers=headers)
