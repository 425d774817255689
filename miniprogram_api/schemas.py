"""Marshmallow schemas of the core /api/v1 resources (they also generate the OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api import PageArgs, PageOut
from app.models.org import OrgLevel
from app.schemas import several


class OrgUnitSummary(Schema):
    id = fields.Integer()
    code = fields.String(metadata={"example": "JA01"})
    name = fields.String(metadata={"example": "江宁路街道"})
    level = fields.String(validate=validate.OneOf([lvl.value for lvl in OrgLevel]))


class OrgUnitOut(OrgUnitSummary):
    parent_code = fields.Function(lambda u: u.parent.code if u.parent else None)
    path = fields.String()
    wecom_department_id = fields.Integer(allow_none=True)


class OrgUnitQuery(PageArgs):
    level = fields.String(validate=validate.OneOf([lvl.value for lvl in OrgLevel]))
    parent = fields.String(metadata={"description": "parent unit code"})
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class OrgUnitPage(PageOut):
    items = fields.List(fields.Nested(OrgUnitOut))


class MembershipOut(Schema):
    role = fields.String()
    org_unit = fields.Nested(OrgUnitSummary)


class UserOut(Schema):
    id = fields.Integer()
    userid = fields.String()
    name = fields.String()
    mobile = fields.String(allow_none=True, metadata={"description": "masked, e.g. 139****0001"})
    position = fields.String(allow_none=True)
    active = fields.Boolean()
    memberships = fields.List(fields.Nested(MembershipOut))


class CategoryOut(Schema):
    code, name = several(fields.String, 2)
    route_to, limit = several(fields.String, 2)


class PlaceKindOut(Schema):
    code, name = several(fields.String, 2)


class ToolOut(Schema):
    code, name, icon, version = several(fields.String, 4)
    description, url, source = several(fields.String, 3)
    roles, search_types = several(fields.List, 2, cls_or_instance=fields.String())
    categories = fields.List(fields.Nested(CategoryOut))
    place_kinds = fields.List(fields.Nested(PlaceKindOut))


class ToolList(Schema):
    items = fields.List(fields.Nested(ToolOut))


class MeOut(Schema):
    user = fields.Nested(UserOut)
    units = fields.List(fields.Nested(OrgUnitSummary))
    roles = fields.List(fields.String())
    toolbox = fields.List(fields.Nested(ToolOut))


class ToolSettingOut(Schema):
    org_unit = fields.Nested(OrgUnitSummary)
    enabled = fields.Boolean()
    changed_by = fields.String(allow_none=True)


class AdminToolOut(ToolOut):
    settings = fields.List(fields.Nested(ToolSettingOut))


class AdminToolList(Schema):
    items = fields.List(fields.Nested(AdminToolOut))


class ToolSettingIn(Schema):
    org_unit = fields.String(required=True, metadata={"description": "org unit code, e.g. JA01"})
    enabled = fields.Boolean(required=True)


class AuditQuery(PageArgs):
    action = fields.String()
    actor = fields.String()
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class AuditRowOut(Schema):
    id, at = fields.Integer(), fields.DateTime()
    actor, target_type, target_id, ip = several(fields.String, 4, allow_none=True)
    action, outcome, hash = several(fields.String, 3)
    detail = fields.Dict()


class AuditPage(PageOut):
    items = fields.List(fields.Nested(AuditRowOut))


class UserQuery(PageArgs):
    unit = fields.String(metadata={"description": "only staff of this unit's subtree (code)"})
    role = fields.String()
    q = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "name or userid"})


class UserPage(PageOut):
    items = fields.List(fields.Nested(UserOut))
