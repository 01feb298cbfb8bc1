"""The ``petdx`` command line (thin: parse, call the library, print)."""

from petdx.cli.app import app, main

__all__ = ["app", "main"]
