from django.urls import include, path

urlpatterns = [
    path("", include("cvrtracker.front.urls")),
    path("accounts/", include("cvrtracker.accounts.urls")),
    path("dashboard/", include("cvrtracker.dashboard.urls")),
    path("amazon/", include("cvrtracker.amazon.urls")),
    path("amazon/", include("cvrtracker.listings.urls")),
    path("billing/", include("cvrtracker.billing.urls")),
    path("api/v1/", include("cvrtracker.api.urls")),
    path("settings/api/", include("cvrtracker.api.settings_urls")),
    path("", include("cvrtracker.alerts.urls")),
    path("", include("cvrtracker.privacy.urls")),
]
