"""Sellers v1: getMarketplaceParticipations, with the extra entries Amazon really returns.

Beside the marketplaces the seller sells in, Amazon lists a "Non-Amazon" entry
(multi-channel fulfilment, models#1367, docs#1260) and reports isParticipating
true for sites the seller never opened (docs#254): the NA seller gets Brazil.
Which ones the seller really sells in is on the control API (/_sim/overview).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from ..world import NON_AMAZON, UNOPENED, Marketplace, Seller, is_suppressing
from .common import json_response, sim_of, sp_operation


def _entry(market: Marketplace, seller: Seller, suspended: bool) -> dict:
    return {
        "marketplace": {
            "id": market.id,
            "name": market.name,
            "countryCode": market.country_code,
            "defaultCurrencyCode": market.currency,
            "defaultLanguageCode": market.language,
            "domainName": market.domain,
        },
        "participation": {"isParticipating": True, "hasSuspendedListings": suspended},
        "storeName": seller.store_name,
    }


@require_GET
@sp_operation("getMarketplaceParticipations")
def marketplace_participations(request: HttpRequest, seller: Seller) -> HttpResponse:
    world = sim_of(request).world
    now = world.clock.now()
    suppressed = [
        p
        for p in seller.products
        if p.changes and is_suppressing(world.value_at(p, "issue", now, None))
    ]
    payload = [
        _entry(m, seller, any(seller.offers(p, m) for p in suppressed)) for m in seller.marketplaces
    ]
    payload += [_entry(m, seller, False) for m in UNOPENED[seller.region]]
    payload.append(_entry(NON_AMAZON, seller, False))
    return json_response({"payload": payload})
