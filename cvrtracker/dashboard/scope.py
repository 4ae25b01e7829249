"""Which seller account, marketplace and days a dashboard page shows, for one user.

Every dashboard page resolves its scope here first: the connection comes from
the user's team through accounts/access.py (404 for anyone else's), and the
plan's history depth bounds every period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.http import Http404, QueryDict

from cvrtracker.accounts import access
from cvrtracker.accounts.models import Team
from cvrtracker.amazon.identifiers import is_asin
from cvrtracker.amazon.marketplaces import MARKETPLACES, marketplace_today
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.billing.limits import history_start_for_team
from cvrtracker.lib import clock
from cvrtracker.metrics.models import MetricBlock

# Periods a seller picks from (days), and the longest custom one.
PERIODS = (7, 30, 90, 365, 730)
DEFAULT_PERIOD = 30


@dataclass(frozen=True)
class MarketplaceChoice:
    id: str
    name: str  # the country code, e.g. "US"
    currency: str


@dataclass(frozen=True)
class Period:
    """[start, end] in marketplace days, and the previous period of the same length."""

    start: date
    end: date
    days: int
    previous_start: date
    previous_end: date
    # The period's key for links: "7", "30", ... or "custom".
    key: str
    # True when the plan's history depth moved `start` later than asked.
    clamped: bool = False

    @property
    def label(self) -> str:
        return f"{self.start:%-d %b %Y} – {self.end:%-d %b %Y}"


@dataclass(frozen=True)
class Scope:
    team: Team
    connections: list[SellerConnection]
    connection: SellerConnection | None
    marketplaces: list[MarketplaceChoice] = field(default_factory=list)
    marketplace_id: str = ""
    # The marketplace's local date now, the last whole day (yesterday), and the
    # first day the plan shows.
    today: date | None = None
    last_day: date | None = None
    history_start: date | None = None

    @property
    def marketplace(self) -> MarketplaceChoice | None:
        return next((m for m in self.marketplaces if m.id == self.marketplace_id), None)

    @property
    def currency(self) -> str:
        m = self.marketplace
        return m.currency if m else ""

    def query(self, **extra: str) -> str:
        """The query string that keeps this scope in a link (plus `extra`)."""
        q = QueryDict(mutable=True)
        if self.connection is not None:
            q["account"] = str(self.connection.code)
        if self.marketplace_id:
            q["marketplace"] = self.marketplace_id
        for name, value in extra.items():
            if value not in (None, ""):
                q[name] = value
        return q.urlencode()


def _marketplace_choices(connection: SellerConnection) -> list[MarketplaceChoice]:
    """Marketplaces with metrics first, in the connection's order; else the known
    Amazon marketplaces of the connection (a new connection with no metrics yet)."""
    with_data = set(
        MetricBlock.objects.filter(connection=connection)
        .values_list("marketplace_id", flat=True)
        .distinct()
    )
    ordered = [m.get("id", "") for m in connection.marketplaces if m.get("id") in MARKETPLACES]
    ordered += sorted(with_data - set(ordered))
    chosen = [m for m in ordered if m in with_data] or ordered
    return [
        MarketplaceChoice(
            id=m, name=MARKETPLACES[m].country_code, currency=MARKETPLACES[m].currency
        )
        for m in chosen
        if m in MARKETPLACES
    ]


def dashboard_scope_for_user(
    *, user, account: str | None = None, marketplace: str | None = None
) -> Scope:
    """The scope for `user`: the seller account `account` (a connection code; the
    team's first by default; 404 if not the team's) and `marketplace` (its first
    with data by default; an unknown one falls back to the default)."""
    team = access.get_team_for_user(user)
    connections = list(access.get_connections_for_user(user).order_by("created_at", "pk"))
    if account:
        connection = next((c for c in connections if str(c.code) == account), None)
        if connection is None:
            raise Http404("No such seller account")
    else:
        active = [c for c in connections if c.status != SellerConnection.Status.DISCONNECTED]
        connection = (active or connections or [None])[0]
    if connection is None:
        return Scope(team=team, connections=connections, connection=None)
    choices = _marketplace_choices(connection)
    ids = [m.id for m in choices]
    marketplace_id = marketplace if marketplace in ids else (ids[0] if ids else "")
    today = marketplace_today(marketplace_id) if marketplace_id else clock.today()
    return Scope(
        team=team,
        connections=connections,
        connection=connection,
        marketplaces=choices,
        marketplace_id=marketplace_id,
        today=today,
        last_day=today - timedelta(days=1),
        # Pages end on the last whole day (today has no traffic yet): the plan's
        # depth counts back from it, so "two years" is 730 shown days.
        history_start=history_start_for_team(team, today=today - timedelta(days=1)),
    )


def product_scope_for_user(*, user, account: str, marketplace: str, asin: str) -> Scope:
    """The scope of one product's pages and downloads: 404 for a malformed ASIN, another
    team's account, or a marketplace the account has no data in."""
    if not is_asin(asin):
        raise Http404("No such product")
    scope = dashboard_scope_for_user(user=user, account=account, marketplace=marketplace)
    if scope.marketplace_id != marketplace:
        raise Http404("No such marketplace for this seller account")
    return scope


class InvalidPeriod(ValueError):
    pass


def period_from_query(scope: Scope, query: QueryDict, *, default: int = DEFAULT_PERIOD) -> Period:
    """The period of `?period=7|30|90|365|730` (days ending with the last whole day) or
    `?period=custom&start=YYYY-MM-DD&end=YYYY-MM-DD`; InvalidPeriod for a bad one.
    The start never precedes the plan's history start (`clamped` says so)."""
    assert scope.last_day is not None and scope.history_start is not None
    key = query.get("period") or str(default)
    if key == "custom":
        try:
            start = date.fromisoformat(query.get("start", ""))
            end = date.fromisoformat(query.get("end", ""))
        except ValueError:
            raise InvalidPeriod("Give the custom period's first and last day.") from None
        if end < start:
            raise InvalidPeriod("The period's last day comes before its first.")
        end = min(end, scope.last_day)
        if (end - start).days + 1 > max(PERIODS):
            raise InvalidPeriod(f"A period is at most {max(PERIODS)} days.")
    else:
        if not key.isdigit() or int(key) not in PERIODS:
            raise InvalidPeriod("Choose one of the periods offered.")
        end = scope.last_day
        start = end - timedelta(days=int(key) - 1)
    clamped = start < scope.history_start
    start = max(start, scope.history_start)
    if start > end:
        start = end
    days = (end - start).days + 1
    previous_end = start - timedelta(days=1)
    return Period(
        start=start,
        end=end,
        days=days,
        previous_start=previous_end - timedelta(days=days - 1),
        previous_end=previous_end,
        key=key,
        clamped=clamped,
    )
