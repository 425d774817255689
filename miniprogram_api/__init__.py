"""The versioned JSON API (/api/v1) the WeCom mini-apps call, and its OpenAPI document."""

from flask import Blueprint

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")

# Each module attaches its routes to bp (docs to docs_bp); imported for that effect.
from miniprogram_api import (  # noqa: E402,F401
    admin,  # tool enablement, audit log
    auth,  # WeCom login, logout, OAuth
    core,  # org units, me, toolbox
    definitions,  # tools defined without code (issue 15)
    directory,  # staff import and WeCom sync (security admin)
    docs,  # /api/openapi.json, /api/docs
    exports,  # Excel exports of every list (issue 17)
    integrations,  # other systems: registration, work orders, webhooks, readings
    media,  # photos
    places,  # Jing'an codes, QR codes, posters
    search,  # one-click query (/api/v1/query)
    stats,  # assessment indicators (issue 17)
    users,  # staff directory
    wecom_jssdk,  # JS-SDK signatures for the in-app browser
    work_item_admin,  # holiday calendar, time limits
    work_item_approvals,  # forward and extension approvals
    work_items,  # inbox, detail, actions
)
