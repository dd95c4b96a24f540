"""Liveness: answers without touching the database."""

from __future__ import annotations


def init_app(app) -> None:
    """Register /healthz."""

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}
