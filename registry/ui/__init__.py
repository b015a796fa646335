"""The registry's web UI at ``/ui``: server-rendered pages (Jinja2), inline SVG charts,
one hand-written stylesheet. No JavaScript is needed to use it."""

from registry.ui.views import router, static_files

__all__ = ["router", "static_files"]
