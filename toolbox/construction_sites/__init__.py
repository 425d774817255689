"""小型工地管理 — small construction sites: register, inspect by checklist, forward problems, close.

Failed checklist items become work items for 区建设管理委员会 (JA-D-JG); each site gets a Jing'an code.
"""

from app.signals import work_item_changed
from toolbox.construction_sites import (
    jobs,  # noqa: F401 - registers the periodic reminder
    models,  # noqa: F401 - tables
)
from toolbox.construction_sites.api import bp
from toolbox.construction_sites.models import CHECKLIST
from toolbox.construction_sites.services import CODE, on_work_item_changed, search_documents
from toolbox.registry import Category, Manifest, Tool


def _setup(app):
    work_item_changed.connect(on_work_item_changed)


tool = Tool(
    manifest=Manifest(
        code=CODE, name="小型工地管理", icon="construction", version="1.0.0",
        roles=("worker", "operator", "manager"),
        categories=tuple(Category(f"site_{code}", f"工地{name}不合格", route_to="JA-D-JG", limit="supervised")
                         for code, name in CHECKLIST.items()),
        search_types=("site", "inspection"),
        description="登记小型工地、按清单检查、问题一键流转至区建管委、即将完工/逾期未查/有问题工地清单",
    ),
    blueprint=bp,
    search_documents=search_documents,
    setup=_setup,
)
