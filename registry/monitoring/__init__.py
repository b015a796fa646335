"""Monitoring: SLA evaluation, breach episodes, webhooks, Prometheus metrics.

Everything here works on the registry's database, so any number of registry processes can
share it: periodic work is guarded by a lease (`leases`) and every effect it has is keyed
idempotently (breach report ids, episode numbers, outbox event ids).
"""

from registry.monitoring.runner import Monitor, TickResult

__all__ = ["Monitor", "TickResult"]
