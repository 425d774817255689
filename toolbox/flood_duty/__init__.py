"""防汛防台 — flood and typhoon duty: rosters, warning levels with WeCom call-out and arrival
confirmation, waterlogging points with depth reports escalated to 区防汛办 (JA-D-FX), resources per point.
"""

from app import toolkit as tk
from toolbox.flood_duty import jobs, sensors, services  # noqa: F401 - jobs: the warning fan-out; sensors: its rule
from toolbox.flood_duty.api import bp
from toolbox.flood_duty.models import CODE

tool = tk.Tool(
    manifest=tk.Manifest(
        code=CODE, name="防汛防台", icon="flood", version="1.1.0",
        roles=("worker", "operator", "manager"),
        categories=(tk.Category(services.CATEGORY, "积水超警戒", route_to="JA-D-FX", limit="1 working day"),),
        place_kinds=(tk.PlaceKind("flood_point", "积水点", citizen_categories=(
            "waterlogging", "facilities", "environment", "other")),),
        search_types=("point", "warning"),
        description="值班表、预警发布与企业微信通知、到岗签到、积水点上报与超警戒工单、防汛物资",
    ),
    blueprint=bp,
    search_documents=services.search_documents,
    on_work_item_changed=services.on_work_item_changed,
)
