"""小型工地管理 — small construction sites: register, inspect by checklist, forward problems, close.

Failed checklist items become work items for 区建设管理委员会 (JA-D-JG); each site gets a Jing'an code.
"""

from app import toolkit as tk
from toolbox.construction_sites import jobs, services
from toolbox.construction_sites.api import bp
from toolbox.construction_sites.models import CHECKLIST, CODE

tool = tk.Tool(
    manifest=tk.Manifest(
        code=CODE, name="小型工地管理", icon="construction", version="1.1.0",
        roles=("worker", "operator", "manager"),
        categories=tuple(tk.Category(f"site_{code}", f"工地{name}不合格", route_to="JA-D-JG", limit="3 working days")
                         for code, name in CHECKLIST.items()),
        place_kinds=(tk.PlaceKind("construction_site", "工地", citizen_categories=(
            "construction", "environment", "facilities", "occupation", "other")),),
        search_types=("site", "inspection"),
        description="登记小型工地、按清单检查、问题一键流转至区建管委、即将完工/逾期未查/有问题工地清单",
    ),
    blueprint=bp,
    periodic=(tk.Periodic(f"{CODE}.inspection_reminders", jobs.remind_overdue_inspections, 24 * 3600),),
    search_documents=services.search_documents,
    status_labels={"pass": "合格", "fail": "不合格"},  # and the common active/ended
    on_work_item_changed=services.on_work_item_changed,
)
