"""See urls.py."""

from django.urls import path

from cvrtracker.privacy.views import requests, staff

urlpatterns = [
    path("privacy/requests/", requests.rights, name="rights"),
    path("support/", requests.support, name="support"),
    path("settings/privacy/requests/", requests.requests_panel, name="requests_panel"),
    path("staff/requests/", staff.staff_requests, name="staff_requests"),
    path("staff/requests/rights/<uuid:code>/", staff.staff_request, name="staff_request"),
    path("staff/requests/support/<uuid:code>/", staff.staff_support, name="staff_support"),
]
