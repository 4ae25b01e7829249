"""Rules and channels in plain words, for Settings → Alerts."""

from __future__ import annotations

from urllib.parse import urlsplit

from cvrtracker.alerts.channels import alert_channel_target
from cvrtracker.alerts.forms import FREQUENCIES, SEVERITIES, connection_label
from cvrtracker.alerts.models import AlertChannel, AlertRule
from cvrtracker.amazon.marketplaces import MARKETPLACES
from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.listings.models import ListingChange

Kind = AlertRule.Kind


def _pct(value) -> str:
    try:
        return f"{float(value):g}%"
    except (TypeError, ValueError):
        return "?"


def rule_condition(rule: AlertRule) -> str:
    """What the rule waits for, e.g. "Price moves by more than 10%"."""
    params = rule.params or {}
    if rule.kind == Kind.LISTING_CHANGED:
        labels = dict(ListingChange.Field.choices)
        fields = [labels.get(f, f).lower() for f in params.get("fields", [])]
        return "Changes of the " + (", ".join(fields) or "listing")
    if rule.kind == Kind.LISTING_ISSUE:
        return dict(SEVERITIES).get(params.get("severity"), "Any new issue")
    if rule.kind == Kind.OUT_OF_STOCK:
        return "Out of stock" + (", and back in stock" if params.get("back_in_stock") else "")
    if rule.kind == Kind.LOW_STOCK:
        return f"Fewer than {params.get('days', '?')} days of stock"
    if rule.kind == Kind.PRICE_CHANGED:
        return f"Price moves by more than {_pct(params.get('pct'))}"
    if rule.kind == Kind.BUY_BOX_LOW:
        return f"Buy Box share below {_pct(params.get('pct'))}"
    if rule.kind == Kind.SESSIONS_DROP:
        return f"Sessions down by more than {_pct(params.get('pct'))}"
    if rule.kind == Kind.DIGEST:
        return dict(FREQUENCIES).get(params.get("frequency"), "")
    if rule.kind == Kind.CONVERSION_DROP:
        return "Against the product's own trailing level, adjusted for the account"
    return ""


def rule_scope(rule: AlertRule) -> str:
    """Which products, e.g. "3 chosen products of Acme (NA)"."""
    place = connection_label(rule.connection) if rule.connection is not None else ""
    market = MARKETPLACES.get(rule.marketplace_id)
    if market is not None:
        place = f"{place}, {market.country_code}"
    if rule.scope == AlertRule.Scope.CHOSEN:
        asins = rule.asins or []
        shown = ", ".join(asins[:3]) + ("…" if len(asins) > 3 else "")
        return f"{len(asins)} chosen product{'s' if len(asins) != 1 else ''} ({shown}) of {place}"
    if rule.scope == AlertRule.Scope.MARKETPLACE:
        return f"Every product of {place}"
    return "All tracked products"


def channel_destination(channel: AlertChannel) -> str:
    """Where a channel sends, as much as is safe to show: a member's or the stored email
    address, a webhook's host (its path may hold a token), nothing of a Slack URL
    (the whole URL is the secret)."""
    if channel.kind == AlertChannel.Kind.SLACK:
        return "Slack incoming webhook"
    if channel.kind == AlertChannel.Kind.EMAIL and channel.member is not None:
        return channel.member.email
    try:
        target = alert_channel_target(channel)
    except DecryptionError:
        return ""
    if channel.kind == AlertChannel.Kind.WEBHOOK:
        return urlsplit(target).hostname or ""
    return target
