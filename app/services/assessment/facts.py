"""The facts of one work item that the indicators count, computed from the item and its timeline.

One function, `facts_of(item, calendar)`, is the only place that decides whether an item was signed
on time, contacted in time, closed on time, solved, rated… The incremental keeper and the rebuild
both call it, so they cannot disagree.
"""

from __future__ import annotations

from datetime import timedelta

from app.models.base import utcnow
from app.models.stats import MEASURE_COLUMNS
from app.models.workitem import WorkItem
from app.services.workdays import WorkingCalendar, local_date
from app.services.workflow.limits import limits_for

SIGN_STARTS = ("dispatch", "forward", "reassign")  # each starts a new sign clock
FIRST_CONTACT_DAYS = 1
SATISFIED = ("satisfied", "basic")


def units_of(org_path: str) -> tuple[str, str]:
    """(l1, l2): the street or department, and the grid, of a unit path like /JA/JA01/JA01G01/C01/."""
    parts = [p for p in org_path.split("/") if p]
    return (parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else "")


class FactMaker:
    """Computes facts for many items with one calendar and cached limits."""

    def __init__(self, calendar: WorkingCalendar | None = None, now=None):
        self.calendar = calendar or WorkingCalendar()
        self.now = now or utcnow()
        self._limits: dict[tuple, object] = {}

    def _sign_days(self, item: WorkItem) -> int:
        key = (item.source_tool, item.category, item.limit_kind)
        if key not in self._limits:
            self._limits[key] = limits_for(*key)
        return self._limits[key].sign_days

    def facts(self, item: WorkItem, repeat: bool = False) -> dict:
        """The stats_item row of one item, as a dict."""
        events = sorted(item.events, key=lambda e: (e.at, e.id or 0))
        l1, l2 = units_of(self.handling_path(item, events))
        row = {name: 0 for name in MEASURE_COLUMNS}
        row.update(work_item_id=item.id, l1=l1, l2=l2, tool=item.source_tool, category=item.category,
                   received_day=local_date(item.created_at), sign_due_day=None, signed_day=None,
                   closed_day=None, close_due_day=local_date(item.close_due_at), received=1,
                   repeat=int(repeat), is_open=item.state != "closed")
        actions = [e.action for e in events]
        row["returned"] = int("return" in actions)
        row["redone"] = int("review_reject" in actions or "reopen" in actions)
        self._sign(item, events, row)
        if item.state == "closed" and item.closed_at is not None:
            self._closed(item, events, row)
        elif item.overdue or item.close_due_at < self.now:
            row["overdue_open"] = 1
        return row

    @staticmethod
    def handling_path(item: WorkItem, events) -> str:
        """The 承办单位 an item counts for: the unit it was last dispatched (派单/转派/改派) to, so an item
        returned and waiting at the dispatcher still counts for the unit that returned it."""
        path = item.org_path
        for ev in events:
            if ev.action in SIGN_STARTS and ev.to_unit is not None:
                path = ev.to_unit.path
        return path

    def _sign(self, item, events, row) -> None:
        sign_start = signed_at = None
        for ev in events:
            if ev.action == "sign":
                signed_at = ev.at
                break
            if ev.action in SIGN_STARTS:
                sign_start = ev.at
        if sign_start is None:  # never dispatched (closed at acceptance): no sign clock
            return
        deadline = self.cal_deadline(sign_start, self._sign_days(item))
        overdue_marked = any(ev.action == "overdue" and (ev.detail or {}).get("stage") == "sign" for ev in events)
        if signed_at is not None or overdue_marked or deadline < self.now:
            row["sign_due"], row["sign_due_day"] = 1, local_date(deadline)
            row["sign_on_time"] = int(signed_at is not None and signed_at <= deadline)
        if signed_at is not None:
            row["signed"], row["signed_day"] = 1, local_date(signed_at)
            contact_at = item.first_contact_at
            row["contacted"] = int(contact_at is not None
                                   and contact_at <= self.cal_deadline(signed_at, FIRST_CONTACT_DAYS))

    def cal_deadline(self, start, days: int):
        return self.calendar.add_working_days(start, days)

    def _closed(self, item, events, row) -> None:
        closed_day = local_date(item.closed_at)
        row.update(closed=1, closed_day=closed_day, closed_on_time=int(item.closed_at <= item.close_due_at),
                   extended=int((item.extension_days or 0) > 0))
        visited = any(ev.action == "visit" for ev in events)
        verified = any(ev.action == "close" and (ev.detail or {}).get("verified_by") for ev in events)
        row["solved"] = int(visited or verified)
        if visited and item.satisfaction:
            row["rated"], row["satisfied"] = 1, int(item.satisfaction in SATISFIED)
        received = row["received_day"]
        row["close_days_sum"] = self.calendar.between(received + timedelta(days=1), closed_day)
