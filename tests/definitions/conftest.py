"""Shared pieces of the definition tests: a shared-bike patrol tool as an admin would define it."""

import copy

import pytest

BIKES = {
    "code": "bike_patrol", "name": "共享单车停放巡查", "icon": "bike", "roles": ["worker", "operator", "manager"],
    "place_kinds": [{"code": "bike_spot", "name": "共享单车停放点"}],
    "fields": [
        {"name": "spot", "label": "停放点静安码", "type": "place", "required": True, "filterable": True},
        {"name": "count", "label": "车辆数", "type": "integer", "required": True, "min": 0, "filterable": True},
        {"name": "blocking", "label": "是否占道", "type": "boolean", "filterable": True},
        {"name": "brand", "label": "品牌", "type": "choice", "options": ["美团", "哈啰", "青桔"], "filterable": True},
        {"name": "note", "label": "说明", "type": "long_text", "searchable": True},
        {"name": "photos", "label": "现场照片", "type": "photos"},
    ],
    "categories": [{"code": "bike_overflow", "name": "共享单车超量堆放", "route_to": "street",
                    "limit": "1 working day"}],
    "rules": [{"code": "overflow", "kind": "threshold", "field": "count", "op": ">", "value": 30,
               "category": "bike_overflow"}],
}


@pytest.fixture
def bikes():
    return copy.deepcopy(BIKES)


def publish(client, headers, code, **kw):
    return client.post(f"/api/v1/admin/tool-definitions/{code}/publish", headers=headers, **kw)
