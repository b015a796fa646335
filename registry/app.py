"""The application factory: `create_app(settings)` gives the registry's ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from registry import auth, confluent, ui
from registry.db import Database
from registry.http_errors import install_error_handlers
from registry.monitoring import Monitor
from registry.monitoring.metrics import MetricsMiddleware
from registry.routes import breaches, consumers, contracts, ids, monitoring, service, versions
from registry.routes.service import service_version_string
from registry.settings import Settings

__all__ = ["create_app"]

DESCRIPTION = """
Versioned data contracts: publish, read, check compatibility, register consumers.

Every error is `{"error": {"code", "message", "details"}}` with a stable snake_case code.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The registry app over `settings.database_url` (the schema must be migrated)."""
    settings = settings or Settings.from_env()
    db = Database(settings.database_url, read_threads=settings.read_threads)
    monitor = Monitor(db, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        monitor.start()  # SLA evaluation, breach episodes, webhook delivery
        yield
        await monitor.stop()
        db.dispose()

    app = FastAPI(
        title="Accord registry",
        version=service_version_string(),
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.monitor = monitor
    install_error_handlers(app)
    # Routes are matched in order: the hot read path first.
    for module in (versions, ids, contracts, consumers, breaches, service):
        app.include_router(module.router)
    # Monitoring: SLA status, webhooks, /metrics, and the web UI at /ui.
    app.include_router(monitoring.router)
    app.include_router(ui.router)
    # The Confluent Schema Registry API (subjects are contracts), at / and at /confluent.
    confluent.install(app)
    app.mount("/ui/static", ui.static_files(), name="ui-static")
    # Authentication, authorization (registry.auth.policy), limits and the audit log.
    auth.install(app, settings, db)
    app.add_middleware(MetricsMiddleware)  # outermost: sees every response, 500s too
    return app
