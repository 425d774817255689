"""Excel exports of every list (一键导出, issue 17).

    sources.py  ExportSource / QueryExportSource and the registry (register_export_source)
    builtin.py  work items, staff, audit log, indicator tables, every built-in tool's record tables
    jobs.py     request_export(), the streaming job, listing and expiry
"""

from app.services.exports import builtin as _builtin  # noqa: F401 - registers the platform's sources
from app.services.exports.jobs import my_export, my_exports, request_export, run_export, sources_for
from app.services.exports.sources import (
    ExportColumn,
    ExportSource,
    QueryExportSource,
    export_source,
    export_sources,
    register_export_source,
    unregister_export_source,
)

__all__ = ["ExportColumn", "ExportSource", "QueryExportSource", "export_source", "export_sources", "my_export",
           "my_exports", "register_export_source", "request_export", "run_export", "sources_for",
           "unregister_export_source"]
