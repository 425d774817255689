"""The versioned JSON API (/api/v1) the WeCom mini-apps call, and its OpenAPI document."""

from flask import Blueprint

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")

from miniprogram_api import admin, core, docs, users  # noqa: E402,F401  - routes attach to bp / docs_bp

# isort: split
from miniprogram_api import auth  # noqa: E402,F401 - WeCom login, logout, OAuth

# isort: split
from miniprogram_api import directory  # noqa: E402,F401 - staff import and WeCom sync (security admin)

# isort: split
from miniprogram_api import work_items  # noqa: E402,F401 - issue 4: /work-items

# isort: split
from miniprogram_api import media, places  # noqa: E402,F401 - issue 5: photos, places (静安码)

# isort: split
from miniprogram_api import search  # noqa: E402,F401  - one-click query (/api/v1/query)
