"""The study's web application (``petdx serve``): FastAPI, server-rendered Jinja2 pages, htmx.

Thin over the study layer: every rule lives in :mod:`petdx.study`; a route reads the request,
calls the library and renders the answer. See docs/web.md.
"""

from __future__ import annotations

from petdx.web.app import create_app

__all__ = ["create_app"]
