"""Core models. Tools keep their own models in their folders."""

from app.models.audit import AuditHead, AuditLog
from app.models.org import OrgLevel, OrgUnit
from app.models.search import SearchDoc  # noqa: F401 - one-click query index
from app.models.tools import ToolSetting
from app.models.users import (
    SEPARATED_ADMIN_ROLES,
    ApiToken,
    Membership,
    Role,
    SeparationOfDutiesError,
    User,
)
from app.models.wecom import WeComCallbackEvent
from app.models.workitem import WorkItem  # noqa: F401 - work items and their tables (issue 4)

__all__ = [
    "ApiToken", "AuditHead", "AuditLog", "Membership", "OrgLevel", "OrgUnit", "Role",
    "SEPARATED_ADMIN_ROLES", "SeparationOfDutiesError", "ToolSetting", "User",
    "WeComCallbackEvent",
]
from app.models.attachment import Attachment, AttachmentLink  # noqa: E402,F401 - issue 5
from app.models.definitions import DefinedRecord, ToolDefinition, ToolDefinitionVersion  # noqa: E402,F401 - issue 15
from app.models.export import ExportJob  # noqa: E402,F401 - issue 17: Excel exports
from app.models.idempotency import IdempotencyKey  # noqa: E402,F401 - issue 16: page submissions
from app.models.integration import IntegrationSystem  # noqa: E402,F401 - issue 19: other systems
from app.models.outbox import JobOutbox  # noqa: E402,F401 - issue 12: no job lost
from app.models.place import Place, PlacePosterBatch  # noqa: E402,F401 - issue 5
from app.models.stats import StatsDaily, StatsItem, WorkItemRepeat  # noqa: E402,F401 - issue 17: assessment
