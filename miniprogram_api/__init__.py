"""The versioned JSON API (/api/v1) the WeCom mini-apps call, and its OpenAPI document."""

from flask import Blueprint

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")

from miniprogram_api import admin, core, docs, users  # noqa: E402,F401  - routes attach to bp / docs_bp
from miniprogram_api import media as _media  # noqa: E402,F401 - issue 5: photos
from miniprogram_api import places as _places  # noqa: E402,F401 - issue 5: places (静安码)

# isort: split
from miniprogram_api import auth  # noqa: E402,F401 - WeCom login, logout, OAuth

# isort: split
from miniprogram_api import work_items  # noqa: E402,F401 - issue 4: /work-items
