"""Amazon marketplaces: ids, currencies and the time zone of their business day.

Amazon's reports count a marketplace's own business day: the Business Reports
glossary defines a US day as "00:00:00 to 23:59:59 PT" (quoted by Openbridge,
see ../shared/reference/sp-api-semantics.md §1). Outside the US the zone is the
marketplace's local one (unverified by Amazon; models#5209 is still open), so
"today", the day a report is asked for, and the day a change or an order
belongs to are all computed here, never from the UTC date.

Sales & Traffic ignores the time of day of dataStartTime/dataEndTime, and
whether Amazon reads the literal date or converts the instant first is
undocumented: `report_instant` gives 12:00 UTC, which falls on the same
calendar date in every zone from UTC-11 to UTC+11, so both readings agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from cvrtracker.lib import clock


@dataclass(frozen=True)
class MarketplaceInfo:
    id: str
    country_code: str
    currency: str
    time_zone: str
    region: str  # the LWA/SP-API region whose authorization covers it


# Amazon's retail marketplaces (developer-docs.amazon.com/sp-api/docs/marketplace-ids).
# getMarketplaceParticipations also returns non-Amazon and internal ids (docs#254):
# anything not listed here is not a marketplace we can ask for reports about.
MARKETPLACES: dict[str, MarketplaceInfo] = {
    m.id: m
    for m in (
        MarketplaceInfo("ATVPDKIKX0DER", "US", "USD", "America/Los_Angeles", "NA"),
        MarketplaceInfo("A2EUQ1WTGCTBG2", "CA", "CAD", "America/Los_Angeles", "NA"),
        MarketplaceInfo("A1AM78C64UM0Y8", "MX", "MXN", "America/Mexico_City", "NA"),
        MarketplaceInfo("A2Q3Y263D00KWC", "BR", "BRL", "America/Sao_Paulo", "NA"),
        MarketplaceInfo("A1F83G8C2ARO7P", "GB", "GBP", "Europe/London", "EU"),
        MarketplaceInfo("A1PA6795UKMFR9", "DE", "EUR", "Europe/Berlin", "EU"),
        MarketplaceInfo("A13V1IB3VIYZZH", "FR", "EUR", "Europe/Paris", "EU"),
        MarketplaceInfo("APJ6JRA9NG5V4", "IT", "EUR", "Europe/Rome", "EU"),
        MarketplaceInfo("A1RKKUPIHCS9HS", "ES", "EUR", "Europe/Madrid", "EU"),
        MarketplaceInfo("A28R8C7NBKEWEA", "IE", "EUR", "Europe/Dublin", "EU"),
        MarketplaceInfo("A1805IZSGTT6HS", "NL", "EUR", "Europe/Amsterdam", "EU"),
        MarketplaceInfo("A2NODRKZP88ZB9", "SE", "SEK", "Europe/Stockholm", "EU"),
        MarketplaceInfo("A1C3SOZRARQ6R3", "PL", "PLN", "Europe/Warsaw", "EU"),
        MarketplaceInfo("AMEN7PMS3EDWL", "BE", "EUR", "Europe/Brussels", "EU"),
        MarketplaceInfo("A33AVAJ2PDY3EV", "TR", "TRY", "Europe/Istanbul", "EU"),
        MarketplaceInfo("A2VIGQ35RCS4UG", "AE", "AED", "Asia/Dubai", "EU"),
        MarketplaceInfo("A17E79C6D8DWNP", "SA", "SAR", "Asia/Riyadh", "EU"),
        MarketplaceInfo("ARBP9OOSHTCHU", "EG", "EGP", "Africa/Cairo", "EU"),
        MarketplaceInfo("A21TJRUUN4KGV", "IN", "INR", "Asia/Kolkata", "EU"),
        MarketplaceInfo("A1VC38T7YXB528", "JP", "JPY", "Asia/Tokyo", "FE"),
        MarketplaceInfo("A39IBJ37TRP1C6", "AU", "AUD", "Australia/Sydney", "FE"),
        MarketplaceInfo("A19VAU5U5O7RUS", "SG", "SGD", "Asia/Singapore", "FE"),
    )
}
# A marketplace we do not know (none should reach a report request) keeps Amazon's
# US convention rather than UTC.
DEFAULT_TIME_ZONE = "America/Los_Angeles"


def is_amazon_marketplace(marketplace_id: str) -> bool:
    """True for a retail Amazon marketplace; False for non-Amazon and internal ids."""
    return marketplace_id in MARKETPLACES


def zone(marketplace_id: str) -> ZoneInfo:
    info = MARKETPLACES.get(marketplace_id)
    return ZoneInfo(info.time_zone if info else DEFAULT_TIME_ZONE)


def marketplace_day(marketplace_id: str, moment: datetime) -> date:
    """The marketplace's business day that `moment` (an aware datetime) falls on."""
    return moment.astimezone(zone(marketplace_id)).date()


def marketplace_today(marketplace_id: str, now: datetime | None = None) -> date:
    """The marketplace's current business day: it is still running, never complete."""
    return marketplace_day(marketplace_id, now or clock.now())


def day_start(marketplace_id: str, day: date) -> datetime:
    """The instant (UTC) at which the marketplace's `day` begins."""
    return datetime.combine(day, time.min, tzinfo=zone(marketplace_id)).astimezone(UTC)


def report_instant(day: date) -> str:
    """`day` at 12:00 UTC as Amazon's date-time: the same calendar date in every
    marketplace zone, whether Amazon reads the literal date or converts it."""
    return f"{day.isoformat()}T12:00:00Z"
