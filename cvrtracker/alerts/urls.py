from django.urls import path

from cvrtracker.alerts.views import history, public
from cvrtracker.alerts.views import settings as settings_views

app_name = "alerts"

urlpatterns = [
    # Settings → Alerts (members of the team): rules and channels.
    path("settings/alerts/", settings_views.alerts_settings, name="settings"),
    path("settings/alerts/rules/new/", settings_views.rule_new, name="rule_new"),
    path("settings/alerts/rules/<uuid:code>/", settings_views.rule_edit, name="rule_edit"),
    path(
        "settings/alerts/rules/<uuid:code>/switch/",
        settings_views.rule_switch,
        name="rule_switch",
    ),
    path(
        "settings/alerts/rules/<uuid:code>/delete/",
        settings_views.rule_delete,
        name="rule_delete",
    ),
    path("settings/alerts/channels/new/", settings_views.channel_new, name="channel_new"),
    path("settings/alerts/channels/<uuid:code>/", settings_views.channel_edit, name="channel_edit"),
    path(
        "settings/alerts/channels/<uuid:code>/test/",
        settings_views.channel_test,
        name="channel_test",
    ),
    path(
        "settings/alerts/channels/<uuid:code>/resume/",
        settings_views.channel_resume,
        name="channel_resume",
    ),
    path(
        "settings/alerts/channels/<uuid:code>/delete/",
        settings_views.channel_delete,
        name="channel_delete",
    ),
    # The alerts history: every alert and its deliveries; an alert opens its product
    # page at its day.
    path("alerts/", history.alerts_history, name="history"),
    path("alerts/<uuid:code>/", history.alert_detail, name="alert"),
    # Public: no login (the token is the authority).
    path("alerts/unsubscribe/<str:token>/", public.unsubscribe, name="unsubscribe"),
    path("alerts/confirm/<str:token>/", public.channel_confirm, name="channel_confirm"),
]
