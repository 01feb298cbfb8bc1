"""The request body, read on the event loop so that every route can be a plain function.

FastAPI runs a plain (``def``) route in its thread pool and an ``async def`` route on the
event loop. petdx's routes work on the database and verify passwords (Argon2id), both of
which block; on the event loop, each such wait stopped every other request of the process
(a patient entered on PostgreSQL held the other users' pages for its whole transaction).
So every route is a plain function, and what must be awaited (the body) is read by the
async dependencies below, which do nothing but read it: Starlette keeps the parsed form on
the request, so the CSRF check (:func:`petdx.web.security.csrf_protect`) and the route read
it once. ``tests/web/test_event_loop.py`` holds every route and dependency to this rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData

from petdx.errors import InputValidationError

__all__ = [
    "FORM_CONTENT_TYPES",
    "PostedBody",
    "PostedForm",
    "RawBody",
    "field_text",
    "json_object",
    "posted_body",
    "posted_form",
]

#: Content types whose body is a form (parsed by Starlette).
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def posted_form(request: Request) -> FormData:
    """The posted form (Starlette parses it once per request and keeps it)."""
    return await request.form()


@dataclass(frozen=True)
class RawBody:
    """A request's body as sent: its media type (lower case, no parameters) and bytes."""

    media_type: str
    data: bytes


async def posted_body(request: Request) -> RawBody:
    """The raw body; a form post's bytes were consumed by the CSRF check, so it is empty."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type in FORM_CONTENT_TYPES:
        await request.form()  # keeps the parsed form; the stream is read once
        return RawBody(media_type, b"")
    return RawBody(media_type, await request.body())


PostedForm = Annotated[FormData, Depends(posted_form)]
PostedBody = Annotated[RawBody, Depends(posted_body)]


def field_text(form: FormData, name: str) -> str:
    """A form field as text ("" when it is missing or is a file)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def json_object(body: RawBody, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object, or :class:`InputValidationError` saying what to send."""
    if body.media_type in FORM_CONTENT_TYPES:
        raise InputValidationError(
            f"The post is a form ({body.media_type}); send a JSON object "
            "with Content-Type: application/json (the CSRF token in the X-CSRF-Token header)."
        )
    if len(body.data) > max_bytes:
        raise InputValidationError(
            f"The edit is {len(body.data)} bytes, more than {max_bytes}; post it in parts."
        )
    try:
        data = json.loads(body.data or b"{}")
    except ValueError as exc:
        raise InputValidationError(f"The post is not JSON ({exc}); send a JSON object.") from None
    if not isinstance(data, dict):
        raise InputValidationError("The post is not a JSON object; send {...}.")
    return data
