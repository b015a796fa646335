"""Events raised on the request path: a refused (breaking) publish."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from registry.db import Database
from registry.monitoring import events
from registry.monitoring.common import key

__all__ = ["publish_refused"]

log = logging.getLogger("registry")


def publish_refused(db: Database, name: str, fingerprint: str, report: Any) -> None:
    """Tell the webhooks of `name` that a publish was refused as breaking.

    Called after the refused publish rolled back, in a transaction of its own; a failure
    here is logged and never changes the 409 the publisher gets.
    """
    report = report if isinstance(report, dict) else {}
    breaking = [c for c in report.get("changes", ()) if not c.get("compatible", True)]
    data = {
        "fingerprint": fingerprint,
        "mode": report.get("mode"),
        "policy": report.get("policy"),
        "checked_versions": report.get("checked_versions", []),
        "breaking_changes": [
            {
                field: change.get(field)
                for field in ("type", "path", "layer", "breaks", "message", "against_version")
            }
            for change in breaking
        ],
        "affected_consumers": report.get("affected_consumers", []),
    }
    event_id = key("refused", name, uuid.uuid4().hex, limit=255)
    try:
        db.write(
            lambda session: events.enqueue(session, events.PUBLISH_REFUSED, event_id, name, data)
        )
    except Exception:
        log.exception("could not queue the publish_refused event of %s", name)
