"""Settings → API (/settings/api/), where the team's keys are listed, created and revoked."""

from django.urls import path

from cvrtracker.api import views

app_name = "api_keys"

urlpatterns = [
    path("", views.keys_page, name="page"),
    path("<uuid:code>/revoke/", views.key_revoke, name="revoke"),
]
