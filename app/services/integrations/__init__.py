"""Other systems in and out (issue 19): one concern per module.

    systems.py   registration, grants, key and secret rotation with a grace period, disabling, authentication
    orders.py    work orders in: idempotent by (system, external_id), routed like any other work item
    events.py    which work-item change (and tool record save) becomes which event, and who hears it
    webhooks.py  deliveries written in the changing transaction, signed, sent in order per chain, retried
    sensors.py   devices bound to places, batches of readings, the time-series table, rules over readings
"""

from __future__ import annotations

from flask import Flask

from app.services.integrations import sensors, webhooks  # noqa: F401 - their jobs and periodic sweeps
from app.services.integrations.events import on_record_saved, on_work_item_recorded
from app.signals import searchable_saved, work_item_recorded


def init_app(app: Flask) -> None:
    """Hear every work-item change and tool record save inside its transaction (idempotent across apps)."""
    work_item_recorded.connect(on_work_item_recorded, weak=False)
    searchable_saved.connect(on_record_saved, weak=False)
