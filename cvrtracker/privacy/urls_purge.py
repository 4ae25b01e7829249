"""See urls.py."""

from django.urls import path

from cvrtracker.privacy.views import purge

urlpatterns = [
    path("settings/privacy/deletions/", purge.deletions_panel, name="deletions_panel"),
]
