"""Settings → Privacy → Export your data (see urls.py)."""

from django.urls import path

from cvrtracker.privacy.views import export

urlpatterns = [
    path("settings/privacy/export/", export.panel, name="export_panel"),
    path("settings/privacy/export/start/", export.start, name="export_start"),
    path("settings/privacy/export/<uuid:code>/download/", export.download, name="export_download"),
]
