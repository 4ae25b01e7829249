"""Settings → Alerts: the team's channels and rules.

Any member of the team may read and manage them (alerts/access.py); the services
check the plan, validate and audit. Every change is a POST; deleting asks first.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from cvrtracker.accounts.access import get_team_for_user
from cvrtracker.alerts.access import get_alert_channel_for_user, get_alert_rule_for_user
from cvrtracker.alerts.channels import (
    alert_channel_create,
    alert_channel_delete,
    alert_channel_resume,
    alert_channel_secret,
    alert_channel_send_test,
    alert_channel_update,
)
from cvrtracker.alerts.display import channel_destination, rule_condition, rule_scope
from cvrtracker.alerts.forms import (
    ChannelEditForm,
    ChannelForm,
    RuleForm,
    initial_from_query,
)
from cvrtracker.alerts.models import AlertChannel, AlertRule
from cvrtracker.alerts.selectors import alert_channels_for_team, alert_rules_for_team
from cvrtracker.alerts.services import (
    alert_rule_create,
    alert_rule_delete,
    alert_rule_set_enabled,
    alert_rule_update,
)
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_context_from_request, audit_record
from cvrtracker.billing.limits import ALERT_CHANNEL, PlanLimitError, team_can

# Where a service's ValidationError about an argument shows on the forms.
RULE_ERROR_FIELDS = {
    "connection": "place",
    "marketplace_id": "place",
    "asins": "asin_list",
    "channels": "channels",
    "scope": "scope",
}
CHANNEL_ERROR_FIELDS = {"name": "name", "member": "recipient", "target": ("email", "url")}


def _plans(team) -> dict:
    """{channel kind: team_can's decision}: what the plan allows, with the upgrade link."""
    return {kind: team_can(team, ALERT_CHANNEL, channel=kind) for kind in AlertChannel.Kind.values}


def _add_errors(form, error: ValidationError, where: dict) -> None:
    """Show a service's refusal on the form field it is about (or above the form)."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for name, errors in error.message_dict.items():
        target = where.get(name)
        if isinstance(target, tuple):
            target = next((t for t in target if t in form.fields), None)
        for message in errors:
            form.add_error(target if target in form.fields else None, message)


@login_required
@never_cache
def alerts_settings(request: HttpRequest) -> HttpResponse:
    team = get_team_for_user(request.user)
    channels = list(alert_channels_for_team(team=team))
    rules = list(alert_rules_for_team(team=team))
    ctx = {
        "section": "alerts",
        "channels": [(c, channel_destination(c)) for c in channels],
        "rules": [(r, rule_condition(r), rule_scope(r)) for r in rules],
        "channel_kinds": [
            (kind, label, decision)
            for (kind, label), decision in zip(
                AlertChannel.Kind.choices, _plans(team).values(), strict=True
            )
        ],
    }
    return render(request, "alerts/settings.html", ctx)


# Rules -------------------------------------------------------------------------------


def _rule_form_page(request, form: RuleForm, *, rule: AlertRule | None = None, status=200):
    plans = _plans(form.team)
    # The place picker names each seller account by its store name: a read of it.
    context = audit_context_from_request(request)
    for connection in form.connections:
        audit_record(
            action=AuditEntry.Action.AMAZON_ACCOUNTS_NAMED,
            context=context,
            team=form.team,
            target=connection,
        )
    ctx = {
        "section": "alerts",
        "form": form,
        "rule": rule,
        # Each channel's checkbox, and whether the plan includes its kind.
        "channel_options": [
            (option, plans[option.data["value"].instance.kind]) for option in form["channels"]
        ],
    }
    return render(request, "alerts/rule_form.html", ctx, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def rule_new(request: HttpRequest) -> HttpResponse:
    """GET draws the form for `?kind=` (again, with the values already chosen, when the
    kind changes); POST creates the rule, off until someone switches it on."""
    team = get_team_for_user(request.user)
    if request.method == "GET":
        form = RuleForm(
            team=team,
            kind=request.GET.get("kind", ""),
            initial=initial_from_query(request.GET),
        )
        return _rule_form_page(request, form)
    form = RuleForm(request.POST, team=team, kind=request.POST.get("kind", ""))
    if form.is_valid():
        data = form.cleaned_data
        try:
            rule = alert_rule_create(
                user=request.user,
                kind=form.rule_kind,
                params=data["params"],
                scope=data["scope"],
                connection=data["connection"],
                marketplace_id=data["marketplace_id"],
                asins=data["asins"],
                channels=list(data["channels"]),
                request=request,
            )
        except ValidationError as error:
            _add_errors(form, error, RULE_ERROR_FIELDS)
        except PlanLimitError as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(
                request,
                f"Alert “{rule.get_kind_display()}” added. It is off: switch it on to "
                "start receiving it.",
            )
            return redirect(f"{reverse('alerts:settings')}#rule-{rule.code}")
    return _rule_form_page(request, form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, code) -> HttpResponse:
    rule = get_alert_rule_for_user(request.user, code)
    if request.method == "GET":
        form = RuleForm(
            team=rule.team, kind=rule.kind, rule=rule, initial=RuleForm.initial_for(rule)
        )
        return _rule_form_page(request, form, rule=rule)
    form = RuleForm(request.POST, team=rule.team, kind=rule.kind, rule=rule)
    if form.is_valid():
        data = form.cleaned_data
        try:
            alert_rule_update(
                user=request.user,
                rule=rule,
                params=data["params"],
                scope=data["scope"],
                connection=data["connection"],
                marketplace_id=data["marketplace_id"],
                asins=data["asins"],
                channels=list(data["channels"]),
                request=request,
            )
        except ValidationError as error:
            _add_errors(form, error, RULE_ERROR_FIELDS)
        except PlanLimitError as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(request, f"Alert “{rule.get_kind_display()}” saved.")
            return redirect(f"{reverse('alerts:settings')}#rule-{rule.code}")
    return _rule_form_page(request, form, rule=rule, status=400)


@login_required
@require_POST
def rule_switch(request: HttpRequest, code) -> HttpResponse:
    """POST enabled=on|off: switch the rule (the opt-in is recorded by the service)."""
    rule = get_alert_rule_for_user(request.user, code)
    wanted = request.POST.get("enabled")
    if wanted not in ("on", "off"):
        messages.error(request, "Choose whether to switch the alert on or off.")
        return redirect("alerts:settings")
    try:
        alert_rule_set_enabled(
            user=request.user, rule=rule, enabled=wanted == "on", request=request
        )
    except PlanLimitError as refusal:
        messages.error(request, refusal.message)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        state = "on: it sends to its channels from now on" if rule.enabled else "off"
        messages.success(request, f"Alert “{rule.get_kind_display()}” is {state}.")
    return redirect(f"{reverse('alerts:settings')}#rule-{rule.code}")


@login_required
@require_http_methods(["GET", "POST"])
def rule_delete(request: HttpRequest, code) -> HttpResponse:
    """GET asks for confirmation; POST deletes (the alerts it raised stay in the history)."""
    rule = get_alert_rule_for_user(request.user, code)
    if request.method == "GET":
        ctx = {
            "section": "alerts",
            "title": "Delete this alert?",
            "question": f"Delete the alert “{rule.get_kind_display()}: {rule_condition(rule)}”?",
            "details": [
                "It stops at once. The alerts it already sent stay in the alerts history.",
            ],
            "action": reverse("alerts:rule_delete", args=[rule.code]),
            "fields": [],
            "confirm": "Delete",
            "cancel_url": reverse("alerts:settings"),
        }
        return render(request, "confirm.html", ctx)
    try:
        alert_rule_delete(user=request.user, rule=rule, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Alert “{rule.get_kind_display()}” deleted.")
    return redirect("alerts:settings")


# Channels ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def channel_new(request: HttpRequest) -> HttpResponse:
    """`?kind=email|webhook|slack`: GET shows its form, POST adds the channel. A kind the
    plan does not include shows why, with the upgrade link, instead of a form."""
    team = get_team_for_user(request.user)
    kind = request.GET.get("kind") or request.POST.get("kind") or ""
    if kind not in AlertChannel.Kind.values:
        return redirect("alerts:settings")
    plan = team_can(team, ALERT_CHANNEL, channel=kind)
    form = ChannelForm(request.POST or None, team=team, kind=kind)
    status = 200
    if request.method == "POST" and plan:
        if form.is_valid():
            data = form.cleaned_data
            try:
                channel = alert_channel_create(
                    user=request.user,
                    kind=kind,
                    name=data["name"],
                    target=data["target"],
                    member=data["member"],
                    request=request,
                )
            except ValidationError as error:
                _add_errors(form, error, CHANNEL_ERROR_FIELDS)
            except PlanLimitError as refusal:
                form.add_error(None, refusal.message)
            else:
                return _channel_added(request, channel)
        status = 400
    elif request.method == "POST":
        status = 403
    ctx = {
        "section": "alerts",
        "form": form,
        "kind": kind,
        "kind_label": AlertChannel.Kind(kind).label,
        "plan": plan,
    }
    return render(request, "alerts/channel_new.html", ctx, status=status)


def _channel_added(request: HttpRequest, channel: AlertChannel) -> HttpResponse:
    if channel.status == AlertChannel.Status.UNCONFIRMED:
        messages.success(
            request,
            f"Channel “{channel.name}” added. We emailed a confirmation link to the address: "
            "it receives nothing else until someone follows it.",
        )
    else:
        messages.success(request, f"Channel “{channel.name}” added.")
    if channel.kind == AlertChannel.Kind.WEBHOOK:
        # Its page shows the signing secret and how to check a signature.
        return redirect("alerts:channel_edit", code=channel.code)
    return redirect("alerts:settings")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, code) -> HttpResponse:
    """A channel's page: its status, name and target (POST changes them); a webhook's
    signing secret and the snippet that checks a signature."""
    channel = get_alert_channel_for_user(request.user, code)
    form = ChannelEditForm(request.POST or None, channel=channel)
    if request.method == "POST" and form.is_valid():
        try:
            alert_channel_update(
                user=request.user,
                channel=channel,
                name=form.cleaned_data["name"],
                target=form.target or None,
                request=request,
            )
        except ValidationError as error:
            _add_errors(form, error, CHANNEL_ERROR_FIELDS)
        except PlanLimitError as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(request, f"Channel “{channel.name}” saved.")
            return redirect("alerts:channel_edit", code=channel.code)
    is_webhook = channel.kind == AlertChannel.Kind.WEBHOOK
    ctx = {
        "section": "alerts",
        "channel": channel,
        "destination": channel_destination(channel),
        "form": form,
        "secret": alert_channel_secret(channel) if is_webhook else "",
        "plan": team_can(channel.team, ALERT_CHANNEL, channel=channel.kind),
    }
    return render(
        request, "alerts/channel.html", ctx, status=400 if request.method == "POST" else 200
    )


@login_required
@require_POST
def channel_test(request: HttpRequest, code) -> HttpResponse:
    channel = get_alert_channel_for_user(request.user, code)
    try:
        alert_channel_send_test(user=request.user, channel=channel)
    except PlanLimitError as refusal:
        messages.error(request, refusal.message)
    else:
        if channel.status == AlertChannel.Status.UNCONFIRMED:
            messages.success(
                request,
                f"“{channel.name}” is not confirmed yet: we sent its confirmation link again.",
            )
        else:
            messages.success(
                request, f"A test message to “{channel.name}” is on its way (within a minute)."
            )
    if request.POST.get("next") == "channel":
        return redirect("alerts:channel_edit", code=channel.code)
    return redirect("alerts:settings")


@login_required
@require_POST
def channel_resume(request: HttpRequest, code) -> HttpResponse:
    channel = get_alert_channel_for_user(request.user, code)
    try:
        alert_channel_resume(user=request.user, channel=channel, request=request)
    except PlanLimitError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"Channel “{channel.name}” resumed: new alerts reach it again.")
    return redirect("alerts:settings")


@login_required
@require_http_methods(["GET", "POST"])
def channel_delete(request: HttpRequest, code) -> HttpResponse:
    """GET asks for confirmation; POST removes the channel (the alerts stay)."""
    channel = get_alert_channel_for_user(request.user, code)
    if request.method == "GET":
        rules = channel.rules.count()
        kind = channel.get_kind_display().lower()
        ctx = {
            "section": "alerts",
            "title": "Remove this channel?",
            "question": f"Remove the {kind} channel “{channel.name}”?",
            "details": [
                f"{rules} alert{'s' if rules != 1 else ''} send{'' if rules != 1 else 's'} to it "
                "today; they stop sending here. Messages not sent yet are dropped. "
                "The alerts history keeps the alerts.",
            ],
            "action": reverse("alerts:channel_delete", args=[channel.code]),
            "fields": [],
            "confirm": "Remove",
            "cancel_url": reverse("alerts:settings"),
        }
        return render(request, "confirm.html", ctx)
    alert_channel_delete(user=request.user, channel=channel, request=request)
    messages.success(request, f"Channel “{channel.name}” removed.")
    return redirect("alerts:settings")
