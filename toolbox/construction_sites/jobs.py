"""Background jobs of small construction sites."""

from __future__ import annotations

from app import toolkit as tk
from toolbox.construction_sites import services

MAX_SITES_LISTED = 10


@tk.job("default")
def remind_overdue_inspections() -> int:
    """Once a day, tell each street's operators which active sites are overdue for inspection."""
    sent = 0
    for street_id, sites in services.overdue_sites_by_street().items():
        userids = tk.unit_members(street_id, tk.Role.OPERATOR)
        if not userids:
            continue
        names = "、".join(s.name for s in sites[:MAX_SITES_LISTED])
        more = f"等 {len(sites)} 个" if len(sites) > MAX_SITES_LISTED else f"共 {len(sites)} 个"
        street = sites[0].org_unit.street
        tk.send_text_message.delay(userids, (
            f"【小型工地】{street.name}有工地超过 {services.inspection_interval_days()} 天未检查：{names}，{more}。"
            "请安排巡查。"))
        sent += 1
    return sent
