"""The routes of the web application, one module per part (docs/web.md)."""
