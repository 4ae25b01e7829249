"""See urls.py."""

from django.urls import path

from cvrtracker.privacy.views import usage

urlpatterns = [
    path("settings/privacy/usage/", usage.usage_panel, name="usage_panel"),
    path("cookies/", usage.cookies, name="cookies"),
]
