"""静安码随手拍: citizens scan a place's Jing'an code, report a problem with photos, follow it to closure.

Parts: models (citizen_report_* tables), services (no request objects), api (staff, under
/api/v1/tools/citizen_report/), open311 (GeoReport v2 at /open311/v2/), jobs (anonymisation,
duplicate settling, the CLI group); the citizen pages live in the top-level `h5` package. All of
them are declared below and wired by the registry, so disabling the tool takes them down too.
"""

from app import toolkit as tk
from h5 import bp as h5_pages
from toolbox.citizen_report import jobs, models, open311, services  # noqa: F401 - models: the tables
from toolbox.citizen_report.api import bp
from toolbox.citizen_report.manifest import CODE, MANIFEST

tool = tk.Tool(
    manifest=MANIFEST,
    blueprint=bp,
    pages=(h5_pages, open311.bp),
    cli=jobs.citizen_report_cli,
    periodic=(tk.Periodic(f"{CODE}.anonymise", jobs.anonymise_contacts, 24 * 3600),
              tk.Periodic(f"{CODE}.settle_drafts", jobs.settle_drafts, 10 * 60)),
    search_documents=services.search_documents,
    # a report with a work item carries the workflow state; one without, its own status
    status_labels={"draft": "待确认", "filed": "已提交", "joined": "已并入", "discarded": "已放弃"},
    on_work_item_changed=services.on_work_item_changed,
)
