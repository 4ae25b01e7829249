"""What an alert says, per channel: an email (text + HTML), a webhook's JSON, a Slack message.

Rendering reads the alert's decrypted payload (written by the evaluation,
alerts/evaluate.py and alerts/digest.py). Keys read here, all optional:

  title          the product's title
  summary        one line that says what happened (else one is made from the kind)
  field, before, after   what changed (listing changes, price)
  figures        {name: number} of the kind (days_of_cover, buy_box_pct, drop_pct, ...),
                 shown as labelled lines; `details` ({label: value}) likewise
  back_in_stock  out_of_stock alerts: true when it is the "back in stock" one
  movers         digests: {"down": [...], "up": [...]} of {asin, title, sessions,
                 previous_sessions, conversion, previous_conversion} (conversion in %)
  changes        digests: [{asin, title, field_label, day, verdict_label, lift,
                 lift_low, lift_high, final}] (lift as a fraction)

The webhook body (documented in the README):

  {"id": alert code, "kind": rule kind or "test", "created_at": ISO 8601,
   "product": {"asin", "sku", "title"} or null, "marketplace": id, "day": "YYYY-MM-DD",
   "summary": one line, "details": {label: value}, "url": the alert in CVR Tracker}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from cvrtracker.alerts.models import Alert, AlertChannel, AlertRule

UNSUBSCRIBE_SALT = "cvrt.alerts.unsubscribe"
Kind = AlertRule.Kind


@dataclass
class Message:
    """One alert rendered once, for every channel kind."""

    code: str
    kind: str
    created_at: str
    subject: str
    summary: str
    lines: list[tuple[str, str]] = field(default_factory=list)
    product: dict | None = None
    marketplace: str = ""
    day: str = ""
    url: str = ""
    details: dict = field(default_factory=dict)
    movers: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)


def alert_payload_of(alert: Alert) -> dict:
    """The alert's decrypted payload (the rules' selectors.alert_payload does the same)."""
    from cvrtracker.metrics.keys import ConnectionKeys

    return ConnectionKeys(alert.connection).data.decrypt_json(
        bytes(alert.payload_enc), aad=alert.aad()
    )


def _text(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, list):
        return "; ".join(_text(item) for item in value)
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


RAW_KEYS = ("field", "action", "before", "after", "back_in_stock", "severity", "message")
FIGURE_LABELS = {
    "days_of_cover": "Days of cover",
    "units_per_day": "Units a day",
    "quantity": "Quantity (FBA + merchant)",
    "buy_box_pct": "Buy Box share (%)",
    "sessions_recent": "Sessions a day (recent)",
    "sessions_baseline": "Sessions a day (baseline)",
    "drop_pct": "Drop (%)",
    "threshold": "Threshold",
    "pct": "Change (%)",
}


def _label(name: str) -> str:
    return FIGURE_LABELS.get(name, name.replace("_", " ").capitalize())


def _signed(fraction: Any) -> str:
    return f"{fraction * 100:+.1f}%" if isinstance(fraction, int | float) else ""


def _mover_item(item: dict, direction: str) -> dict:
    line = (
        f"conversion {direction} from {_text(item.get('previous_conversion'))}% "
        f"to {_text(item.get('conversion'))}% ({_text(item.get('sessions'))} sessions)"
    )
    return {"asin": item.get("asin", ""), "title": item.get("title", ""), "summary": line}


def _change_item(item: dict) -> dict:
    line = f"{item.get('field_label') or item.get('field') or 'listing'} changed"
    if item.get("day"):
        line += f" on {item['day']}"
    verdict = item.get("verdict_label") or ""
    if verdict:
        line += f": {verdict if item.get('final') else 'so far ' + verdict}"
    if isinstance(item.get("lift"), int | float):
        line += f", conversion {_signed(item['lift'])}"
        if isinstance(item.get("lift_low"), int | float):
            line += f" ({_signed(item['lift_low'])} to {_signed(item.get('lift_high'))})"
    return {"asin": item.get("asin", ""), "title": item.get("title", ""), "summary": line}


def _digest_items(payload: dict) -> tuple[list[dict], list[dict]]:
    movers = payload.get("movers") or []
    if isinstance(movers, dict):
        movers = [_mover_item(m, "down") for m in movers.get("down") or []] + [
            _mover_item(m, "up") for m in movers.get("up") or []
        ]
    changes = [
        item if "summary" in item else _change_item(item)
        for item in payload.get("changes") or []
        if isinstance(item, dict)
    ]
    return [m for m in movers if isinstance(m, dict)], changes


def _summary(kind: str, payload: dict, title: str) -> str:
    if payload.get("summary"):
        return str(payload["summary"])
    what = payload.get("field", "")
    return {
        Kind.LISTING_CHANGED: f"{title}: {what or 'the listing'} changed",
        Kind.LISTING_SUPPRESSED: f"{title} is suppressed or inactive",
        Kind.LISTING_ISSUE: f"New {payload.get('severity', '')} issue on {title}".replace(
            "  ", " "
        ),
        Kind.OUT_OF_STOCK: (
            f"{title} is back in stock"
            if payload.get("back_in_stock")
            else f"{title} is out of stock"
        ),
        Kind.LOW_STOCK: f"{title} is running low on stock",
        Kind.PRICE_CHANGED: f"{title}: the price changed",
        Kind.BUY_BOX_LOW: f"{title}: Buy Box share is low",
        Kind.CONVERSION_DROP: f"{title}: conversion dropped",
        Kind.SESSIONS_DROP: f"{title}: sessions dropped",
        Kind.DIGEST: f"Your {payload.get('frequency', '')} alerts digest".replace("  ", " "),
    }.get(kind, f"{title}: alert")


def alert_message(alert: Alert, payload: dict | None = None) -> Message:
    """Render `alert` (its payload decrypted unless given)."""
    payload = alert_payload_of(alert) if payload is None else payload
    title = str(payload.get("title") or alert.asin or "Your account")
    lines: list[tuple[str, str]] = []
    if "before" in payload or "after" in payload:
        lines.append(("Before", _text(payload.get("before"))))
        lines.append(("After", _text(payload.get("after"))))
    if payload.get("message"):
        lines.append(("Issue", _text(payload["message"])))
    details = payload.get("details") or {}
    if not isinstance(details, dict):
        details = {}
    figures = payload.get("figures") or {}
    if not isinstance(figures, dict):
        figures = {}
    lines += [(_label(k), _text(v)) for k, v in figures.items()]
    lines += [(str(label), _text(value)) for label, value in details.items()]
    # For machines (the webhook's "details"): the payload's own names and values.
    data = {k: payload[k] for k in RAW_KEYS if k in payload}
    data.update(figures)
    data.update(details)
    if alert.asin:
        lines.append(("ASIN", alert.asin))
    if alert.marketplace_id:
        lines.append(("Marketplace", alert.marketplace_id))
    lines.append(("Day", alert.day.isoformat()))
    summary = _summary(alert.kind, payload, title)
    movers, changes = _digest_items(payload)
    product = (
        {"asin": alert.asin, "sku": alert.sku, "title": payload.get("title", "")}
        if alert.asin
        else None
    )
    return Message(
        code=str(alert.code),
        kind=alert.kind,
        created_at=(alert.created_at or timezone.now()).isoformat(),
        subject=summary[:150],
        summary=summary,
        lines=lines,
        product=product,
        marketplace=alert.marketplace_id,
        day=alert.day.isoformat(),
        url=settings.SITE_ROOT + reverse("alerts:alert", kwargs={"code": alert.code}),
        details=data,
        movers=movers,
        changes=changes,
    )


def channel_test_message(channel: AlertChannel) -> Message:
    now = timezone.now()
    return Message(
        code=f"test-{channel.code}",
        kind="test",
        created_at=now.isoformat(),
        subject=f"Test alert for the channel {channel.name}",
        summary=f"This is a test from {settings.SITE_NAME}: the channel {channel.name} works.",
        day=now.date().isoformat(),
        url=settings.SITE_ROOT + reverse("alerts:settings"),
    )


# Unsubscribe links (RFC 8058) ------------------------------------------------------


def unsubscribe_token(*, rule_code, channel_code) -> str:
    """A signed token naming one rule on one channel; it does not expire."""
    return signing.dumps({"r": str(rule_code), "c": str(channel_code)}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_read(token: str) -> tuple[str, str]:
    """(rule code, channel code) from a token; signing.BadSignature when forged."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    if not isinstance(data, dict) or not {"r", "c"} <= data.keys():
        raise signing.BadSignature("not an unsubscribe token")
    return data["r"], data["c"]


def unsubscribe_url(*, rule_code, channel_code) -> str:
    token = unsubscribe_token(rule_code=rule_code, channel_code=channel_code)
    return settings.SITE_ROOT + reverse("alerts:unsubscribe", kwargs={"token": token})


# Per channel kind -----------------------------------------------------------------


def email_parts(message: Message, *, unsubscribe: str = "") -> tuple[str, str, str]:
    """(subject, text body, HTML body) of an alert or digest email."""
    template = "alert-digest" if message.kind == Kind.DIGEST else "alert"
    context = {
        "site_name": settings.SITE_NAME,
        "site_root": settings.SITE_ROOT,
        "message": message,
        "unsubscribe": unsubscribe,
    }
    subject = " ".join(render_to_string(f"emails/{template}-subject.txt", context).split())
    text = render_to_string(f"emails/{template}-body.txt", context)
    html = render_to_string(f"emails/{template}-body.html", context)
    return subject, text, html


def webhook_body(message: Message) -> bytes:
    """The JSON posted to a webhook (shape in the module docstring), as signed bytes."""
    body = {
        "id": message.code,
        "kind": message.kind,
        "created_at": message.created_at,
        "product": message.product,
        "marketplace": message.marketplace,
        "day": message.day,
        "summary": message.summary,
        "details": message.details,
        "url": message.url,
    }
    if message.kind == Kind.DIGEST:
        body["movers"], body["changes"] = message.movers, message.changes
    return json.dumps(body, separators=(",", ":"), default=str).encode()


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(message: Message) -> bytes:
    """A Slack incoming-webhook message: `text` for notifications, blocks for the layout."""
    lines = "\n".join(f"*{_slack_escape(k)}:* {_slack_escape(v)}" for k, v in message.lines)
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(message.summary)}}
    ]
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": lines[:2900]}})
    for heading, items in (("Biggest movers", message.movers), ("Changes", message.changes)):
        if items:
            listed = "\n".join(
                f"• {_slack_escape(str(i.get('title') or i.get('asin') or ''))}: "
                f"{_slack_escape(str(i.get('summary', '')))}"
                for i in items[:10]
            )
            blocks.append(
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{heading}*\n{listed}"}}
            )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"<{message.url}|Open in {settings.SITE_NAME}>"}
            ],
        }
    )
    return json.dumps({"text": message.summary, "blocks": blocks}).encode()
