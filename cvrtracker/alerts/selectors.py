"""Reads of the alerts app, always scoped to one team."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet

from cvrtracker.accounts.models import Team
from cvrtracker.alerts.models import Alert, AlertChannel, AlertRule, Delivery, RuleChannel

# pages: the Settings → Alerts and history pages' reads ------------------------------

HISTORY_PAGE_SIZE = 25


def alert_channels_for_team(*, team: Team) -> QuerySet[AlertChannel]:
    """The team's channels, oldest first (the order they were added)."""
    return (
        AlertChannel.objects.filter(team=team).select_related("member").order_by("created_at", "pk")
    )


def alert_rules_for_team(*, team: Team) -> QuerySet[AlertRule]:
    """The team's rules, oldest first, with their account, who switched them on and
    their subscriptions (each with its channel) prefetched."""
    return (
        AlertRule.objects.filter(team=team)
        .select_related("connection", "opted_in_by")
        .prefetch_related(
            Prefetch(
                "subscriptions",
                queryset=RuleChannel.objects.select_related("channel").order_by(
                    "channel__created_at", "pk"
                ),
            )
        )
        .order_by("created_at", "pk")
    )


def alerts_page(*, team: Team, kind: str = "", page: int | str = 1) -> Page:
    """One page of the team's alerts, newest first, of one kind if `kind` is given;
    each with its connection and its deliveries (with their channels). A page number
    out of range gives the last page; one that is not a number, the first."""
    alerts = Alert.objects.filter(team=team)
    if kind:
        alerts = alerts.filter(kind=kind)
    alerts = (
        alerts.select_related("connection")
        .prefetch_related(
            Prefetch(
                "deliveries",
                queryset=Delivery.objects.select_related("channel").order_by("created_at", "pk"),
            )
        )
        .order_by("-created_at", "-pk")
    )
    return Paginator(alerts, HISTORY_PAGE_SIZE).get_page(page)
