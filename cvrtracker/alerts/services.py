"""Alert rules: create, change, switch on or off, delete (the rules part of the alerts app).

Every service takes the acting user; `request` is only an audit detail. A rule is
off when created: it sends nothing until a team member switches it on, and who did
and when is kept on the rule and in the audit log. Channels are the team's own and
follow the plan (`team_can(team, ALERT_CHANNEL, channel=kind)`), checked whenever a
channel is subscribed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from cvrtracker.accounts.access import get_team_for_user
from cvrtracker.accounts.models import Team, User
from cvrtracker.amazon.identifiers import is_asin
from cvrtracker.amazon.marketplaces import is_amazon_marketplace
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_record
from cvrtracker.billing.limits import ALERT_CHANNEL, team_require, team_require_writable

from .models import AlertChannel, AlertRule, RuleChannel

Kind = AlertRule.Kind
Scope = AlertRule.Scope

# The listing fields a "listing changed" rule may watch (ListingChange.Field values).
WATCHABLE_FIELDS = (
    "title",
    "bullet",
    "description",
    "main_image",
    "image",
    "price",
    "status",
    "brand",
)
SEVERITIES = ("error", "warning")
FREQUENCIES = ("daily", "weekly")
MAX_ASINS = 500
UNSET: Any = object()


def _number(params: dict, name: str, *, low: float, high: float, integer: bool = False) -> float:
    value = params.get(name)
    if isinstance(value, str):
        try:
            value = int(value) if integer else float(value)
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError({"params": f"Give {name} as a number."})
    if integer and int(value) != value:
        raise ValidationError({"params": f"Give {name} as a whole number."})
    if not low <= value <= high:
        raise ValidationError({"params": f"{name} must be between {low:g} and {high:g}."})
    return int(value) if integer else float(value)


def rule_params_clean(kind: str, params: dict | None) -> dict:
    """The params of a rule of `kind` in their stored shape (models.AlertRule docstring);
    raises ValidationError with a message a seller can act on."""
    params = dict(params or {})
    if kind not in Kind.values:
        raise ValidationError({"kind": "Choose what the alert is about."})
    if kind == Kind.LISTING_CHANGED:
        fields = params.get("fields")
        if isinstance(fields, str):
            fields = [fields]
        if not fields or not isinstance(fields, list | tuple):
            raise ValidationError({"params": "Choose at least one listing field to watch."})
        unknown = sorted(set(fields) - set(WATCHABLE_FIELDS))
        if unknown:
            raise ValidationError({"params": f"Unknown listing field: {', '.join(unknown)}."})
        return {"fields": [f for f in WATCHABLE_FIELDS if f in fields]}
    if kind == Kind.LISTING_ISSUE:
        severity = str(params.get("severity", "")).lower()
        if severity not in SEVERITIES:
            raise ValidationError({"params": "Choose the severity: error or warning."})
        return {"severity": severity}
    if kind == Kind.OUT_OF_STOCK:
        back = params.get("back_in_stock", False)
        if isinstance(back, str):
            back = back.lower() in ("1", "true", "on", "yes")
        return {"back_in_stock": bool(back)}
    if kind == Kind.LOW_STOCK:
        return {"days": _number(params, "days", low=1, high=365, integer=True)}
    if kind == Kind.PRICE_CHANGED:
        return {"pct": _number(params, "pct", low=0.1, high=1000)}
    if kind == Kind.BUY_BOX_LOW:
        return {"pct": _number(params, "pct", low=1, high=100)}
    if kind == Kind.SESSIONS_DROP:
        return {"pct": _number(params, "pct", low=5, high=100)}
    if kind == Kind.DIGEST:
        frequency = str(params.get("frequency", "")).lower()
        if frequency not in FREQUENCIES:
            raise ValidationError({"params": "Choose how often: daily or weekly."})
        return {"frequency": frequency}
    # listing_suppressed, conversion_drop: nothing to choose.
    return {}


def _scope_clean(
    team: Team,
    kind: str,
    scope: str,
    connection: SellerConnection | None,
    marketplace_id: str,
    asins: Iterable[str],
) -> tuple[str, SellerConnection | None, str, list[str]]:
    if scope not in Scope.values:
        raise ValidationError({"scope": "Choose which products the alert watches."})
    if connection is not None and connection.team_id != team.pk:
        raise ValidationError({"connection": "Choose one of your team's seller accounts."})
    marketplace_id = (marketplace_id or "").strip()
    if marketplace_id and not is_amazon_marketplace(marketplace_id):
        raise ValidationError({"marketplace_id": "Choose an Amazon marketplace."})
    known = [m.get("id") for m in connection.marketplaces] if connection is not None else []
    if marketplace_id and known and marketplace_id not in known:
        raise ValidationError(
            {"marketplace_id": "This seller account does not sell in that marketplace."}
        )
    wanted = []
    for raw in asins or ():
        asin = str(raw).strip().upper()
        if not asin:
            continue
        if not is_asin(asin):
            raise ValidationError({"asins": f"{raw!s:.20} is not an ASIN (ten letters or digits)."})
        if asin not in wanted:
            wanted.append(asin)
    if len(wanted) > MAX_ASINS:
        raise ValidationError({"asins": f"Choose at most {MAX_ASINS} products."})
    if kind == Kind.DIGEST:
        # A digest covers a seller account (or every one of the team's): no product scope.
        return Scope.TRACKED, connection, marketplace_id, []
    if scope == Scope.CHOSEN:
        if connection is None:
            raise ValidationError({"connection": "Choose the seller account of the products."})
        if not wanted:
            raise ValidationError({"asins": "Choose at least one product (its ASIN)."})
    elif scope == Scope.MARKETPLACE:
        if connection is None:
            raise ValidationError({"connection": "Choose the seller account."})
        if not marketplace_id:
            raise ValidationError({"marketplace_id": "Choose the marketplace."})
        wanted = []
    else:
        wanted = []
    return scope, connection, marketplace_id, wanted


def _team_channels(team: Team, channels: Sequence[AlertChannel]) -> list[AlertChannel]:
    chosen: list[AlertChannel] = []
    for channel in channels or ():
        if channel.team_id != team.pk:
            raise ValidationError({"channels": "Choose your team's own channels."})
        if channel not in chosen:
            chosen.append(channel)
    return chosen


def _subscribe(rule: AlertRule, channels: list[AlertChannel]) -> None:
    """Make the rule's subscriptions exactly `channels`: new ones are plan-checked; an
    existing pair keeps its row (an unsubscribed pair stays unsubscribed)."""
    current = {sub.channel_id: sub for sub in rule.subscriptions.all()}
    for channel in channels:
        if channel.pk in current:
            continue
        team_require(rule.team, ALERT_CHANNEL, channel=channel.kind)
        RuleChannel.objects.create(rule=rule, channel=channel)
    wanted = {channel.pk for channel in channels}
    RuleChannel.objects.filter(rule=rule).exclude(channel_id__in=wanted).delete()


def alert_rule_create(
    *,
    user: User,
    kind: str,
    params: dict | None,
    scope: str = Scope.TRACKED,
    connection: SellerConnection | None = None,
    marketplace_id: str = "",
    asins: Iterable[str] = (),
    channels: Sequence[AlertChannel] = (),
    enabled: bool = False,
    request: HttpRequest | None = None,
) -> AlertRule:
    """A new rule of the user's team; off unless `enabled` (then switched on as
    alert_rule_set_enabled does, audited). Raises ValidationError or PlanLimitError."""
    team = get_team_for_user(user)
    team_require_writable(team)
    params = rule_params_clean(kind, params)
    scope, connection, marketplace_id, asins = _scope_clean(
        team, kind, scope, connection, marketplace_id, asins
    )
    chosen = _team_channels(team, channels)
    with transaction.atomic():
        rule = AlertRule.objects.create(
            team=team,
            kind=kind,
            params=params,
            scope=scope,
            connection=connection,
            marketplace_id=marketplace_id,
            asins=asins,
            created_by=user,
        )
        _subscribe(rule, chosen)
        audit_record(
            action=AuditEntry.Action.ALERT_RULE_CHANGED,
            request=request,
            actor=user,
            team=team,
            target=rule,
        )
        if enabled:
            alert_rule_set_enabled(user=user, rule=rule, enabled=True, request=request)
    return rule


def alert_rule_update(
    *,
    user: User,
    rule: AlertRule,
    params: dict | None = UNSET,
    scope: str = UNSET,
    connection: SellerConnection | None = UNSET,
    marketplace_id: str = UNSET,
    asins: Iterable[str] = UNSET,
    channels: Sequence[AlertChannel] = UNSET,
    request: HttpRequest | None = None,
) -> AlertRule:
    """Change what the rule watches and where it sends (arguments left out keep their
    value); its kind and its on/off state stay. Conditions already raised are cleared,
    so the changed rule judges afresh."""
    team = get_team_for_user(user)
    if rule.team_id != team.pk:
        raise ValidationError("This alert belongs to another team.")
    team_require_writable(team)
    new_params = rule_params_clean(rule.kind, rule.params if params is UNSET else params)
    scope, connection, marketplace_id, asins = _scope_clean(
        team,
        rule.kind,
        rule.scope if scope is UNSET else scope,
        rule.connection if connection is UNSET else connection,
        rule.marketplace_id if marketplace_id is UNSET else marketplace_id,
        rule.asins if asins is UNSET else asins,
    )
    chosen = None if channels is UNSET else _team_channels(team, channels)
    with transaction.atomic():
        rule.params, rule.scope, rule.connection = new_params, scope, connection
        rule.marketplace_id, rule.asins = marketplace_id, asins
        rule.save()
        if chosen is not None:
            _subscribe(rule, chosen)
        rule.conditions.all().delete()
        audit_record(
            action=AuditEntry.Action.ALERT_RULE_CHANGED,
            request=request,
            actor=user,
            team=team,
            target=rule,
        )
    return rule


def alert_rule_set_enabled(
    *, user: User, rule: AlertRule, enabled: bool, request: HttpRequest | None = None
) -> AlertRule:
    """Switch the rule on (records who and when: the opt-in) or off; audited each time
    it changes. Switching on checks the plan for every subscribed channel."""
    team = get_team_for_user(user)
    if rule.team_id != team.pk:
        raise ValidationError("This alert belongs to another team.")
    if enabled == rule.enabled:
        return rule
    with transaction.atomic():
        if enabled:
            team_require_writable(team)
            for channel in rule.channels.all():
                team_require(team, ALERT_CHANNEL, channel=channel.kind)
            # Wall time, as ListingChange.created_at: only changes stored after it count.
            rule.enabled, rule.opted_in_by, rule.opted_in_at = True, user, timezone.now()
            action = AuditEntry.Action.ALERT_RULE_ON
        else:
            rule.enabled = False
            action = AuditEntry.Action.ALERT_RULE_OFF
            # Switched on again later, it starts from a clean slate.
            rule.conditions.all().delete()
        rule.save(update_fields=["enabled", "opted_in_by", "opted_in_at", "updated_at"])
        audit_record(action=action, request=request, actor=user, team=team, target=rule)
    return rule


def alert_rule_delete(*, user: User, rule: AlertRule, request: HttpRequest | None = None) -> None:
    """Delete the rule; the alerts it raised stay in the history (rule set to null)."""
    team = get_team_for_user(user)
    if rule.team_id != team.pk:
        raise ValidationError("This alert belongs to another team.")
    with transaction.atomic():
        audit_record(
            action=AuditEntry.Action.ALERT_RULE_DELETED,
            request=request,
            actor=user,
            team=team,
            target=rule,
        )
        rule.delete()
