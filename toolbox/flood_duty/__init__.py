"""防汛防台 — flood and typhoon duty: rosters, warning levels with WeCom call-out and arrival
confirmation, waterlogging points with depth reports escalated to 区防汛办 (JA-D-FX), resources per point.
"""

from app.signals import work_item_changed
from toolbox.flood_duty import jobs, models  # noqa: F401 - jobs and tables
from toolbox.flood_duty.api import bp
from toolbox.flood_duty.services import CATEGORY, CODE, on_work_item_changed, search_documents
from toolbox.registry import Category, Manifest, Tool


def _setup(app):
    work_item_changed.connect(on_work_item_changed)


tool = Tool(
    manifest=Manifest(
        code=CODE, name="防汛防台", icon="flood", version="1.0.0",
        roles=("worker", "operator", "manager"),
        categories=(Category(CATEGORY, "积水超警戒", route_to="JA-D-FX", limit="consultation"),),
        search_types=("point", "warning"),
        description="值班表、预警发布与企业微信通知、到岗签到、积水点上报与超警戒工单、防汛物资",
    ),
    blueprint=bp,
    search_documents=search_documents,
    setup=_setup,
)
