"""静安码随手拍: citizens scan a place's Jing'an code, report a problem with photos, follow it to closure.

Parts: models (citizen_report_* tables), services (no request objects), api (staff, under
/api/v1/tools/citizen_report/), open311 (GeoReport v2 at /open311/v2/), jobs (anonymisation);
the citizen pages live in the top-level `h5` package and are mounted by setup().
"""

from flask import Flask

from toolbox.citizen_report import models  # noqa: F401 - registers the tables
from toolbox.citizen_report.api import bp
from toolbox.citizen_report.manifest import MANIFEST
from toolbox.registry import Tool


def _setup(app: Flask) -> None:
    from h5 import bp as h5_bp
    from toolbox.citizen_report import jobs, open311
    from toolbox.citizen_report.services import on_work_item_changed

    if "h5" not in app.blueprints:
        app.register_blueprint(h5_bp)
    if "open311" not in app.blueprints:
        app.register_blueprint(open311.bp)
    jobs.register_cli()
    from app.signals import work_item_changed
    work_item_changed.connect(on_work_item_changed, weak=False)


def _search_documents():
    from toolbox.citizen_report.services import search_documents
    return search_documents()


tool = Tool(manifest=MANIFEST, blueprint=bp, search_documents=_search_documents, setup=_setup)
