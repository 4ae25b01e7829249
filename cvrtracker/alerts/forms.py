"""The forms of Settings → Alerts and of the history's filter.

The rule form adapts to the rule's kind: only the settings that kind has are
fields (AlertRule's docstring lists them). The services validate again: a form
only turns what a person typed into the services' arguments, with messages that
name the field.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms

from cvrtracker.accounts.models import Membership, Team
from cvrtracker.alerts.models import AlertChannel, AlertRule
from cvrtracker.amazon.identifiers import is_asin
from cvrtracker.amazon.marketplaces import MARKETPLACES
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.listings.models import ListingChange

Kind = AlertRule.Kind
Scope = AlertRule.Scope

# The listing fields a "listing changed" rule may watch (AlertRule.params).
WATCHED_FIELDS = [
    ListingChange.Field.TITLE,
    ListingChange.Field.BULLET,
    ListingChange.Field.DESCRIPTION,
    ListingChange.Field.MAIN_IMAGE,
    ListingChange.Field.IMAGE,
    ListingChange.Field.PRICE,
    ListingChange.Field.STATUS,
    ListingChange.Field.BRAND,
]
SEVERITIES = [("error", "Errors only"), ("warning", "Warnings and errors")]
FREQUENCIES = [("daily", "Every day"), ("weekly", "Every Monday")]
# What each kind's percentage means, as its field's label.
PCT_LABELS = {
    Kind.PRICE_CHANGED: "Tell me when the price moves by more than (%)",
    Kind.BUY_BOX_LOW: "Tell me when the Buy Box share falls below (%)",
    Kind.SESSIONS_DROP: "Tell me when sessions fall by more than (%)",
}
PCT_DEFAULTS = {Kind.PRICE_CHANGED: 10, Kind.BUY_BOX_LOW: 80, Kind.SESSIONS_DROP: 30}
# One sentence per kind, shown under the kind's name.
KIND_HELP = {
    Kind.LISTING_CHANGED: "A field of the listing changed on Amazon (by you or anyone else).",
    Kind.LISTING_SUPPRESSED: "A listing became suppressed or inactive.",
    Kind.LISTING_ISSUE: "Amazon reported a new issue on a listing.",
    Kind.OUT_OF_STOCK: "A product ran out of stock (and, if you like, came back).",
    Kind.LOW_STOCK: "Stock covers fewer days than you choose, at the recent units a day.",
    Kind.PRICE_CHANGED: "The price moved, either way, by more than you choose.",
    Kind.BUY_BOX_LOW: "Your share of the Buy Box fell below your threshold.",
    Kind.CONVERSION_DROP: (
        "Conversion fell below the product's own recent level, judged with the same "
        "statistics as a change's impact: adjusted for what moved the whole account, "
        "and patient with products that have little traffic."
    ),
    Kind.SESSIONS_DROP: "Sessions fell against the product's recent level.",
    Kind.DIGEST: "An email with the biggest conversion movers and recent changes.",
}
ASIN_SEPARATORS = re.compile(r"[\s,;]+")
MAX_ASINS = 500


def connection_label(connection: SellerConnection) -> str:
    # A disconnected account's key may be destroyed: its store name is unreadable.
    name = connection.store_name if connection.is_active else ""
    return f"{name or connection.selling_partner_id} ({connection.get_region_display()})"


def place_choices(connections) -> list[tuple[str, str]]:
    """Each account (all its marketplaces) and each of its marketplaces; a value is
    "<account code>" or "<account code>|<marketplace id>"."""
    choices = [("", "Choose…")]
    for connection in connections:
        label = connection_label(connection)
        choices.append((str(connection.code), f"{label}: every marketplace"))
        for market in connection.marketplaces:
            info = MARKETPLACES.get(market.get("id", ""))
            if info is not None:
                choices.append((f"{connection.code}|{info.id}", f"{label}: {info.country_code}"))
    return choices


def parse_asins(text: str) -> tuple[list[str], list[str]]:
    """(ASINs, rejected words) of text separated by spaces, commas or new lines;
    upper-cased, each once, in the order given."""
    asins, rejected = [], []
    for word in ASIN_SEPARATORS.split(text.strip()):
        if not word:
            continue
        value = word.upper()
        if not is_asin(value):
            rejected.append(word)
        elif value not in asins:
            asins.append(value)
    return asins, rejected


class ChannelsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: AlertChannel) -> str:
        return f"{obj.name} ({obj.get_kind_display()})"


class RuleForm(forms.Form):
    """A rule's settings for one `kind` (`rule_kind`: an unknown one falls back to the
    first); `rule` when editing one (its kind is fixed).

    cleaned_data["params"], ["scope"], ["connection"], ["marketplace_id"], ["asins"]
    and ["channels"] are the services' arguments.
    """

    kind = forms.ChoiceField(label="What should we tell you about?", choices=Kind.choices)
    # params["fields"] (a form cannot have a field called "fields").
    watch = forms.MultipleChoiceField(
        label="Which fields",
        choices=[(f.value, f.label) for f in WATCHED_FIELDS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one field to watch."},
    )
    severity = forms.ChoiceField(label="Which issues", choices=SEVERITIES, initial="error")
    back_in_stock = forms.BooleanField(
        label="Also tell me when it is back in stock", required=False, initial=True
    )
    days = forms.IntegerField(
        label="Tell me when stock covers fewer than (days)",
        min_value=1,
        max_value=365,
        initial=14,
        error_messages={
            "min_value": "Choose at least 1 day.",
            "max_value": "Choose at most 365 days.",
            "invalid": "Write the number of days as a whole number.",
        },
    )
    pct = forms.DecimalField(
        min_value=Decimal("0.1"),
        max_value=100,
        decimal_places=1,
        error_messages={
            "min_value": "Choose a percentage above 0.",
            "max_value": "Choose a percentage of at most 100.",
            "invalid": "Write the percentage as a number, e.g. 15.",
            "max_decimal_places": "Use at most one decimal place.",
        },
    )
    frequency = forms.ChoiceField(label="How often", choices=FREQUENCIES, initial="daily")
    scope = forms.ChoiceField(
        label="Which products",
        choices=Scope.choices,
        initial=Scope.TRACKED,
        widget=forms.RadioSelect,
    )
    place = forms.ChoiceField(
        label="Seller account and marketplace",
        required=False,
        help_text="For chosen products or one marketplace.",
    )
    asin_list = forms.CharField(
        label="ASINs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For chosen products: ASINs separated by spaces, commas or new lines.",
    )
    channels = ChannelsField(
        label="Send to",
        queryset=AlertChannel.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    # The settings each kind has; every other field is removed.
    PARAMS = {
        Kind.LISTING_CHANGED: ("watch",),
        Kind.LISTING_ISSUE: ("severity",),
        Kind.OUT_OF_STOCK: ("back_in_stock",),
        Kind.LOW_STOCK: ("days",),
        Kind.PRICE_CHANGED: ("pct",),
        Kind.BUY_BOX_LOW: ("pct",),
        Kind.SESSIONS_DROP: ("pct",),
        Kind.DIGEST: ("frequency",),
    }
    ALL_PARAMS = ("watch", "severity", "back_in_stock", "days", "pct", "frequency")

    def __init__(self, *args, team: Team, kind: str, rule: AlertRule | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team
        self.rule = rule
        self.rule_kind = kind if kind in Kind.values else Kind.LISTING_CHANGED
        if rule is not None:
            del self.fields["kind"]
        for name in set(self.ALL_PARAMS) - set(self.PARAMS.get(self.rule_kind, ())):
            del self.fields[name]
        if "pct" in self.fields:
            self.fields["pct"].label = PCT_LABELS[self.rule_kind]
            self.fields["pct"].initial = PCT_DEFAULTS[self.rule_kind]
        self.connections = list(
            SellerConnection.objects.live().filter(team=team).order_by("created_at")
        )
        self.fields["place"].choices = place_choices(self.connections)
        channels = AlertChannel.objects.filter(team=team).order_by("created_at", "pk")
        self.fields["channels"].queryset = channels
        if self.rule_kind == Kind.DIGEST:
            # A digest is an email.
            self.fields["channels"].queryset = channels.filter(kind=AlertChannel.Kind.EMAIL)

    @property
    def kind_help(self) -> str:
        return KIND_HELP.get(self.rule_kind, "")

    @property
    def param_fields(self):
        return [self[name] for name in self.PARAMS.get(self.rule_kind, ())]

    def clean_asin_list(self) -> list[str]:
        asins, rejected = parse_asins(self.cleaned_data["asin_list"])
        if rejected:
            shown = ", ".join(rejected[:5]) + ("…" if len(rejected) > 5 else "")
            raise forms.ValidationError(
                f"These are not ASINs (ten capital letters or digits): {shown}"
            )
        if len(asins) > MAX_ASINS:
            raise forms.ValidationError(f"Choose at most {MAX_ASINS} ASINs per rule.")
        return asins

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        connection, marketplace_id = None, ""
        code, _, marketplace_id = (data.get("place") or "").partition("|")
        if code:
            connection = next((c for c in self.connections if str(c.code) == code), None)
        if scope == Scope.CHOSEN:
            if connection is None:
                self.add_error("place", "Choose the seller account of these products.")
            if "asin_list" in data and not data["asin_list"]:
                self.add_error("asin_list", "List the ASINs this rule watches.")
        elif scope == Scope.MARKETPLACE:
            if connection is None or not marketplace_id:
                self.add_error("place", "Choose a seller account's marketplace.")
        else:
            # All tracked products of every account: no account, no ASINs.
            connection, marketplace_id = None, ""
            data["asin_list"] = []
        data["connection"] = connection
        data["marketplace_id"] = marketplace_id
        data["asins"] = data.get("asin_list") or []
        data["params"] = self._params(data)
        return data

    def _params(self, data) -> dict:
        if self.rule_kind == Kind.LISTING_CHANGED:
            return {"fields": list(data.get("watch") or [])}
        if self.rule_kind == Kind.LISTING_ISSUE:
            return {"severity": data.get("severity")}
        if self.rule_kind == Kind.OUT_OF_STOCK:
            return {"back_in_stock": bool(data.get("back_in_stock"))}
        if self.rule_kind == Kind.LOW_STOCK:
            return {"days": data.get("days")}
        if self.rule_kind in PCT_LABELS:
            pct = data.get("pct")
            return {"pct": float(pct) if pct is not None else None}
        if self.rule_kind == Kind.DIGEST:
            return {"frequency": data.get("frequency")}
        return {}

    @classmethod
    def initial_for(cls, rule: AlertRule) -> dict:
        """The form's initial values for an existing rule."""
        place = ""
        if rule.connection is not None:
            place = str(rule.connection.code)
            if rule.marketplace_id:
                place += f"|{rule.marketplace_id}"
        initial = {
            "scope": rule.scope,
            "place": place,
            "asin_list": "\n".join(rule.asins or []),
            "channels": [s.channel for s in rule.subscriptions.all()],
        }
        params = dict(rule.params or {})
        if "fields" in params:
            params["watch"] = params.pop("fields")
        if isinstance(params.get("pct"), int | float):
            params["pct"] = f"{params['pct']:g}"  # 10, not 10.0
        initial.update({k: v for k, v in params.items() if k in cls.ALL_PARAMS})
        return initial


def initial_from_query(query) -> dict:
    """A rule form's values from a GET (the kind changed, the form is drawn again
    with what was already filled in; nothing is validated yet)."""
    multi = ("watch", "channels")
    return {
        name: (query.getlist(name) if name in multi else query.get(name))
        for name in query
        if name != "csrfmiddlewaretoken"
    }


class ChannelForm(forms.Form):
    """A new channel of `kind`: its name and where it sends."""

    name = forms.CharField(label="Name", max_length=100)
    recipient = forms.ChoiceField(label="Send to")
    email = forms.EmailField(
        label="Email address",
        required=False,
        help_text="Someone outside the team first confirms, through a link we email them.",
    )
    url = forms.URLField(
        label="URL",
        max_length=2000,
        assume_scheme="https",
        error_messages={"invalid": "Enter the full URL, starting with https://"},
    )

    OTHER = "other"

    def __init__(self, *args, team: Team, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team
        self.kind = kind
        if kind == AlertChannel.Kind.EMAIL:
            del self.fields["url"]
            self.members = list(
                Membership.objects.filter(team=team).select_related("user").order_by("created_at")
            )
            self.fields["recipient"].choices = [
                (str(m.code), f"{m.user.name} <{m.user.email}>") for m in self.members
            ] + [(self.OTHER, "Another address…")]
        else:
            del self.fields["recipient"], self.fields["email"]
            self.members = []
            if kind == AlertChannel.Kind.SLACK:
                self.fields["url"].label = "Slack incoming webhook URL"
                self.fields["url"].help_text = (
                    "From Slack: Apps → Incoming Webhooks → Add to a channel. "
                    "It is a secret: we keep it encrypted and never show it again."
                )
            else:
                self.fields["url"].label = "Webhook URL"
                self.fields[
                    "url"
                ].help_text = (
                    "We POST a JSON body to it, signed with a secret only you and we know."
                )

    def clean(self):
        data = super().clean()
        data["member"], data["target"] = None, ""
        if self.kind == AlertChannel.Kind.EMAIL:
            recipient = data.get("recipient")
            if recipient == self.OTHER:
                if not data.get("email") and "email" not in self.errors:
                    self.add_error("email", "Enter the address to send to.")
                data["target"] = data.get("email") or ""
            elif recipient:
                member = next((m for m in self.members if str(m.code) == recipient), None)
                data["member"] = member.user if member else None
        else:
            data["target"] = data.get("url") or ""
        return data


class ChannelEditForm(forms.Form):
    """A channel's name, and (for an address or URL we keep) a new target; blank keeps it."""

    name = forms.CharField(label="Name", max_length=100)
    email = forms.EmailField(label="New email address", required=False)
    url = forms.URLField(
        label="New URL",
        required=False,
        max_length=2000,
        assume_scheme="https",
        error_messages={"invalid": "Enter the full URL, starting with https://"},
        help_text="Leave it empty to keep the current one.",
    )

    def __init__(self, *args, channel: AlertChannel, **kwargs):
        kwargs.setdefault("initial", {"name": channel.name})
        super().__init__(*args, **kwargs)
        if channel.kind == AlertChannel.Kind.EMAIL:
            del self.fields["url"]
            if channel.member_id is not None:
                # A member's channel follows their confirmed address.
                del self.fields["email"]
            else:
                self.fields[
                    "email"
                ].help_text = (
                    "Leave it empty to keep the current one. A new address confirms first."
                )
        else:
            del self.fields["email"]

    @property
    def target(self) -> str:
        return self.cleaned_data.get("email") or self.cleaned_data.get("url") or ""


class HistoryFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "Every kind"), *Kind.choices]
    )
