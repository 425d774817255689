"""房屋外墙高坠隐患排查 — facade fall-risk inspection.

The smallest built-in tool, and the one to copy: a register (buildings at their Jing'an codes), an
inspection graded item by item, a rule (risk = the highest grade) that hands high risk to the
workflow as a rectification work item for 区房屋管理局 (JA-D-FG), and a progress report per street.

    models.py    tables named facade_inspection_*; Building is a RegisterRecord
    schemas.py   marshmallow in/out, Chinese messages
    services.py  the rules; no request objects; callers commit
    api.py       the blueprint (named like the tool), @doc on every view, paging, data scope
    jobs.py      background jobs (the periodic ones are declared below)
    migrations/  this tool's Alembic branch
    tests/       specifications of the above
"""

from app import toolkit as tk
from toolbox.facade_inspection import jobs, services
from toolbox.facade_inspection.api import bp
from toolbox.facade_inspection.models import CODE, GRADES

tool = tk.Tool(
    manifest=tk.Manifest(
        code=CODE, name="外墙高坠隐患排查", icon="building", version="1.1.0",
        roles=("worker", "operator", "manager"),
        categories=(tk.Category(services.CATEGORY, "外墙高坠隐患整改", route_to="JA-D-FG", limit="5 working days"),),
        place_kinds=(tk.PlaceKind("building", "楼宇", citizen_categories=(
            "fall_risk", "facilities", "environment", "occupation", "other")),),
        search_types=("building", "inspection"),
        description="楼宇外墙逐项排查评级，高风险自动派发整改工单至区房管局，复查合格自动办结，街镇排查进度",
    ),
    blueprint=bp,
    periodic=(tk.Periodic(f"{CODE}.reinspection_reminders", jobs.remind_reinspections, 24 * 3600),),
    search_documents=services.search_documents,
    status_labels={**GRADES, "uninspected": "未排查"},
    on_work_item_changed=services.on_work_item_changed,
)
