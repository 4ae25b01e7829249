"""The worker's entry point for data exports: load the row, call the service."""

from __future__ import annotations

from django.tasks import task

from cvrtracker.privacy.export import data_export_build
from cvrtracker.privacy.models import DataExport


@task()
def build_data_export(export_id: int) -> str:
    """Build the export; returns its status ("gone" when the row was deleted first)."""
    export = DataExport.objects.select_related("requested_by", "team").filter(pk=export_id).first()
    if export is None:
        return "gone"
    return data_export_build(export=export).status
