"""The privacy app's pages. Each part has its own URL module and views module, so
that each can grow without touching the others:

- urls_export.py     Settings → Privacy → export (privacy:export_*)
- urls_deletion.py   account deletion (privacy:account_delete, privacy:account_deleted)
- urls_purge.py      what was deleted after a disconnect (privacy:deletions_panel)
- urls_usage.py      usage data and cookie choices (privacy:usage_panel, privacy:cookies)
- urls_requests.py   rights and support requests, their staff pages
"""

from django.urls import include, path

from cvrtracker.privacy.views import data

app_name = "privacy"

urlpatterns = [
    path("settings/privacy/", data.page, name="data"),
    path("", include("cvrtracker.privacy.urls_export")),
    path("", include("cvrtracker.privacy.urls_deletion")),
    path("", include("cvrtracker.privacy.urls_purge")),
    path("", include("cvrtracker.privacy.urls_usage")),
    path("", include("cvrtracker.privacy.urls_requests")),
]
