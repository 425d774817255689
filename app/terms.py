"""Terms the platform and every tool share: the roles a person holds in a unit, and the kinds of
time limit a work-item category has. A leaf module (it imports nothing of the app), so the
registry, the models and the tools can all use it."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    WORKER = "worker"                   # 网格员 / 巡查员
    OPERATOR = "operator"               # 城运中心值班员、派单员
    MANAGER = "manager"                 # 街镇/区负责人：审批
    ADMIN = "admin"                     # 系统管理员：工具、组织、静安码
    SECURITY_ADMIN = "security_admin"   # 安全管理员：人员与授权
    AUDIT_ADMIN = "audit_admin"         # 审计管理员：只读审计日志


#: Every role a tool's manifest may admit.
KNOWN_ROLES = frozenset(role.value for role in Role)

#: The kinds of time limit a tool's category declares, named by the working days each gives to close an item.
TIME_LIMIT_KINDS = {"1 working day": 1, "3 working days": 3, "5 working days": 5}
#: Their names before they said what they are (12345's 咨询 / 督办 / 一般), for messages and the data migration.
RENAMED_LIMIT_KINDS = {"consultation": "1 working day", "supervised": "3 working days", "ordinary": "5 working days"}
