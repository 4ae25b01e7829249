"""See urls.py."""

from django.urls import path

from cvrtracker.privacy.views import deletion

urlpatterns = [
    path(
        "settings/privacy/delete-account/",
        deletion.account_delete_page,
        name="account_delete",
    ),
    path("account-deleted/", deletion.account_deleted, name="account_deleted"),
]
