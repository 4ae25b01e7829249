from django.urls import path

from cvrtracker.front import views

app_name = "front"

urlpatterns = [
    path("", views.index, name="index"),
    path("privacy/", views.privacy, name="privacy"),
    path("settings/", views.settings_index, name="settings"),
    path("healthz", views.healthz, name="healthz"),
]
