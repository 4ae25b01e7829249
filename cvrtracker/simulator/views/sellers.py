"""Sellers v1."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from ..world import Seller, is_suppressing
from .common import json_response, sim_of, sp_operation


@require_GET
@sp_operation("getMarketplaceParticipations")
def marketplace_participations(request: HttpRequest, seller: Seller) -> HttpResponse:
    world = sim_of(request).world
    market = world.marketplace
    now = world.clock.now()
    suspended = any(
        is_suppressing(world.value_at(p, "issue", now, None)) for p in seller.products if p.changes
    )
    return json_response(
        {
            "payload": [
                {
                    "marketplace": {
                        "id": market.id,
                        "name": market.name,
                        "countryCode": market.country_code,
                        "defaultCurrencyCode": market.currency,
                        "defaultLanguageCode": market.language,
                        "domainName": market.domain,
                    },
                    "participation": {
                        "isParticipating": True,
                        "hasSuspendedListings": suspended,
                    },
                    "storeName": seller.store_name,
                }
            ]
        }
    )
