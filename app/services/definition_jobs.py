"""Background work of tools defined without code: the sweep that notices fields left empty past a deadline."""

from __future__ import annotations

from app.extensions import db
from app.jobs import job, periodic
from app.services import defined_records


@periodic("definitions.deadline_rules", 3600)
@job("default")
def sweep_deadline_rules() -> int:
    """Hourly: records of defined tools whose `empty_past_deadline` rules now match raise (or attach to) work items."""
    matched = defined_records.deadline_sweep()
    db.session.commit()
    return matched
