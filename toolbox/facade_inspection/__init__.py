"""房屋外墙高坠隐患排查 — facade fall-risk inspection.

The smallest built-in tool, and the one to copy: a register (buildings), an inspection graded item by
item, a rule (risk = the highest grade) that hands high risk to the workflow as a rectification work
item for 区房屋管理局 (JA-D-FG), and a progress report per street.

    models.py    tables named facade_inspection_*
    schemas.py   marshmallow in/out, Chinese messages
    services.py  the rules; no request objects; callers commit
    api.py       the blueprint (named like the tool), @doc on every view, paging, data scope
    jobs.py      background and periodic jobs
    tests/       specifications of the above
"""

from app.signals import work_item_changed
from toolbox.facade_inspection import jobs, models  # noqa: F401 - periodic jobs and tables
from toolbox.facade_inspection.api import bp
from toolbox.facade_inspection.services import CATEGORY, CODE, on_work_item_changed, search_documents
from toolbox.registry import Category, Manifest, Tool


def _setup(app):
    work_item_changed.connect(on_work_item_changed)


tool = Tool(
    manifest=Manifest(
        code=CODE, name="外墙高坠隐患排查", icon="building", version="1.0.0",
        roles=("worker", "operator", "manager"),
        categories=(Category(CATEGORY, "外墙高坠隐患整改", route_to="JA-D-FG", limit="ordinary"),),
        search_types=("building", "inspection"),
        description="楼宇外墙逐项排查评级，高风险自动派发整改工单至区房管局，复查合格自动办结，街镇排查进度",
    ),
    blueprint=bp,
    search_documents=search_documents,
    setup=_setup,
)
