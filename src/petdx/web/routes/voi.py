"""The reader's volumes of interest (issue 14, docs/vois.md): list a case's VOIs with the
metrics petdx computed, add a missed lesion from a seed (the viewer's crosshair), edit a VOI
with brush, eraser and threshold operations, delete it; one VOI's versions and mask.

Thin over :mod:`petdx.pipeline.reader_vois`. Every route first asks
:func:`petdx.study.reading.reader_case` for the signed-in reader's case (unknown: 404; another
reader's or a locked session's: 403); a VOI is looked up among this reader's only, so
another reader's VOI is 403 too. The posts are JSON (``fetch`` from ``static/voi.js``, the
CSRF token in the ``X-CSRF-Token`` header) and answer the case's VOI list as HTML
(``reader/voi_list.html``), rendered here from the server's metrics; a refused edit answers
the list with the error, naming the operation and the field.
"""

from __future__ import annotations

import gzip
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, Request
from starlette.responses import JSONResponse, Response

from petdx.errors import InputValidationError
from petdx.pipeline.reader_vois import (
    VoiConflict,
    add_lesion,
    current_vois,
    delete_voi,
    edit_voi,
    voi_mask,
)
from petdx.quantify.reader_voi import encode_runs
from petdx.study.forms import AccessRefused
from petdx.study.reader_vois import ReaderVoi, VoiNotFound, voi_history
from petdx.study.reading import CaseNotFound, ReaderCase, case_candidates, reader_case
from petdx.web.body import PostedBody, json_object
from petdx.web.routes.coordinator import REFUSED, account, reading
from petdx.web.templating import render, web_state

__all__ = ["router"]

router = APIRouter(prefix="/read/cases/{case_id}/vois")

#: Largest JSON body of one post (a whole-mask edit of a 4 mm whole-body grid is ~100 kB).
MAX_BODY_BYTES = 4_000_000


def _case(request: Request, case_id: str) -> ReaderCase:
    who = account(request)
    try:
        with reading(request) as connection:
            return reader_case(connection, who.name, case_id)
    except CaseNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except AccessRefused as exc:
        raise HTTPException(403, str(exc)) from None


def _list(
    request: Request, case: ReaderCase, *, error: str | None = None, chosen: str | None = None
) -> Response:
    web = web_state(request)
    vois = current_vois(web.database, case, account(request).name)
    points = dict(zip(case.pet_series_uids, case.time_points_min, strict=False))
    return render(
        request,
        "reader/voi_list.html",
        {
            "case": case,
            "vois": vois,
            "points": points,
            "voi_error": error,
            "chosen": chosen or (vois[-1].voi_id if vois else None),
        },
        status_code=REFUSED if error else 200,
    )


def _optional_text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputValidationError(f"{name} {value!r}: expected text.")
    return value


@router.get("", name="reader_vois")
def vois_list(request: Request, case_id: str) -> Response:
    return _list(request, _case(request, case_id))


@router.post("", name="reader_voi_add")
def voi_add(request: Request, case_id: str, body: PostedBody) -> Response:
    """Body: ``{"series_uid": ..., "seed_mm": [x, y, z]`` (LPS) or ``"seed_zyx": [k, j, i],
    "lesion_id": a candidate of the case (empty: a missed lesion), "reason": optional}``."""
    case = _case(request, case_id)
    web = web_state(request)
    try:
        data = json_object(body, MAX_BODY_BYTES)
        series_uid = _optional_text(data, "series_uid") or case.pet_series_uids[0]
        lesion_id = _optional_text(data, "lesion_id")
        if lesion_id is not None:
            with reading(request) as connection:
                known = [
                    c.lesion_id for c in case_candidates(connection, account(request).name, case)
                ]
            if lesion_id not in known:
                raise InputValidationError(
                    f"lesion_id {lesion_id!r} is not a lesion candidate of this case; choose one "
                    f"of {', '.join(known) or 'none'}, or leave it empty for a missed lesion."
                )
        voi = add_lesion(
            web.study,
            web.database,
            case,
            account(request).name,
            series_uid,
            seed_zyx=data.get("seed_zyx"),
            seed_mm=data.get("seed_mm"),
            lesion_id=lesion_id,
            reason=_optional_text(data, "reason"),
        )
    except VoiNotFound as exc:
        raise HTTPException(403, str(exc)) from None
    except InputValidationError as exc:
        return _list(request, case, error=str(exc))
    return _list(request, case, chosen=voi.voi_id)


@router.post("/{voi_id}/edits", name="reader_voi_edit")
def voi_edit(request: Request, case_id: str, voi_id: str, body: PostedBody) -> Response:
    """Body: ``{"operations": [...] (docs/vois.md), "base_version": n, "reason": optional}``."""
    case = _case(request, case_id)
    web = web_state(request)
    try:
        data = json_object(body, MAX_BODY_BYTES)
        base = data.get("base_version")
        if base is not None and (isinstance(base, bool) or not isinstance(base, int)):
            raise InputValidationError(f"base_version {base!r}: expected the version edited.")
        edit_voi(
            web.study,
            web.database,
            case,
            account(request).name,
            voi_id,
            data.get("operations"),
            reason=_optional_text(data, "reason"),
            base_version=base,
        )
    except VoiNotFound as exc:
        raise HTTPException(403, str(exc)) from None
    except (InputValidationError, VoiConflict) as exc:
        return _list(request, case, error=str(exc), chosen=voi_id)
    return _list(request, case, chosen=voi_id)


@router.post("/{voi_id}/delete", name="reader_voi_delete")
def voi_delete(request: Request, case_id: str, voi_id: str, body: PostedBody) -> Response:
    """Body: ``{"reason": "..."}`` (required)."""
    case = _case(request, case_id)
    web = web_state(request)
    try:
        data = json_object(body, MAX_BODY_BYTES)
        delete_voi(
            web.study,
            web.database,
            case,
            account(request).name,
            voi_id,
            reason=_optional_text(data, "reason") or "",
        )
    except VoiNotFound as exc:
        raise HTTPException(403, str(exc)) from None
    except (InputValidationError, VoiConflict) as exc:
        return _list(request, case, error=str(exc), chosen=voi_id)
    return _list(request, case)


def _history(request: Request, case: ReaderCase, voi_id: str) -> list[ReaderVoi]:
    try:
        with reading(request) as connection:
            history = voi_history(connection, account(request).name, voi_id)
    except VoiNotFound as exc:
        raise HTTPException(403, str(exc)) from None
    if history[-1].case_id != case.case_id:
        raise HTTPException(403, f"VOI {voi_id} is not a VOI of case {case.case_id}.")
    return history


@router.get("/{voi_id}", name="reader_voi")
def voi_detail(request: Request, case_id: str, voi_id: str) -> Response:
    """The VOI's versions (metrics, reason, time) and its current mask as runs of the PET grid
    (``mask`` edit format), as JSON."""
    case = _case(request, case_id)
    web = web_state(request)
    history = _history(request, case, voi_id)
    latest = history[-1]
    mask = voi_mask(web.study, web.database, case, account(request).name, latest)
    return JSONResponse(
        {
            "voi_id": voi_id,
            "series_uid": latest.series_uid,
            "shape": list(np.asarray(mask.array).shape),
            "runs": encode_runs(mask),
            "versions": [
                {
                    "version": v.version,
                    "origin": v.origin,
                    "reason": v.reason,
                    "created_at_utc": v.created_at_utc,
                    "voxels": v.voxels,
                    "mask_sha256": v.mask_sha256,
                    "metrics": v.metrics,
                }
                for v in history
            ],
        }
    )


@router.get("/{voi_id}/mask.nii.gz", name="reader_voi_mask")
def voi_mask_nifti(request: Request, case_id: str, voi_id: str) -> Response:
    """The VOI's current mask as NIfTI (uint8) on the PET grid, for the viewer's overlay."""
    case = _case(request, case_id)
    web = web_state(request)
    latest = _history(request, case, voi_id)[-1]
    mask = voi_mask(web.study, web.database, case, account(request).name, latest)
    image = mask.with_array(np.asarray(mask.array).astype(np.uint8)).to_nifti()
    return Response(
        gzip.compress(image.to_bytes(), mtime=0),
        media_type="application/octet-stream",
        headers={"Cache-Control": "no-store"},
    )
