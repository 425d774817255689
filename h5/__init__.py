"""Mobile web pages for citizens (no login): the Jing'an code report form and the tracking page.

    /h5/c/<code>         the place and the report form (category, description, ≤3 photos, phone, privacy)
    /h5/t/<tracking>     status and public timeline; rate, reopen, or answer the duplicate offer
    /h5/photos/<token>   a photo staff have released

Mounted by the citizen_report tool (its setup), so disabling the tool takes the pages down too.
"""

from flask import Blueprint

bp = Blueprint("h5", __name__, url_prefix="/h5", template_folder="templates", static_folder="static",
               static_url_path="/static")

from h5 import views  # noqa: E402,F401 - routes attach to bp
