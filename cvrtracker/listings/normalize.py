"""Map a listing (searchListingsItems) and its catalog item to our canonical content.

The canonical content is what a seller would see on the detail page and what
later issues compare between snapshots, so it is small, stable and ordered:

    {"title", "bullets": [...], "description",
     "images": [{"variant", "link"}], "price": {"amount", "currency"} | None,
     "fba_quantity", "mfn_quantity", "status": [...],
     "issues": [{"code", "severity", "message", "enforcement": [...]}],
     "brand", "product_type"}

"brand" and "product_type" are there only when Amazon gives them (the catalog's
summaries and productTypes, else for the product type the listing's summary):
contents stored before they were kept have neither, and a missing key means
"not known", never "removed" (see diff.py).

Catalog values win over the listing's own attributes: the catalog is the merged
detail page customers see, the listing only this seller's contribution to it.

A snapshot keeps both sides: this shopper-visible content, and under "seller"
the seller's own submission (seller_content_from: the Listings `attributes`,
which change within minutes of an edit while the catalog may take days or never
show it, models#4028). Snapshots taken before both sides were kept have no
"seller" key: their content is the catalog side (content_sides).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

# fulfillmentAvailability code of merchant-fulfilled stock; every other code
# (AMAZON_NA, AMAZON_EU, AMAZON_JP...) is a fulfilment-by-Amazon network.
MFN_CHANNEL = "DEFAULT"


def listing_content_from(
    item: dict, catalog_item: dict | None, *, marketplace_id: str | None = None
) -> dict[str, Any]:
    """The canonical content of one listing in one marketplace (the first one if None)."""
    summary = _for_marketplace(item.get("summaries"), marketplace_id) or {}
    marketplace_id = marketplace_id or summary.get("marketplaceId")
    attributes = item.get("attributes") or {}
    catalog = catalog_item or {}
    catalog_attributes = catalog.get("attributes") or {}
    catalog_summary = _for_marketplace(catalog.get("summaries"), marketplace_id) or {}
    fba, mfn = _quantities(item.get("fulfillmentAvailability"))
    content = {
        "title": (
            catalog_summary.get("itemName")
            or summary.get("itemName")
            or _first_value(catalog_attributes, "item_name", marketplace_id)
            or _first_value(attributes, "item_name", marketplace_id)
            or ""
        ),
        "bullets": (
            _values(catalog_attributes, "bullet_point", marketplace_id)
            or _values(attributes, "bullet_point", marketplace_id)
        ),
        "description": (
            _first_value(catalog_attributes, "product_description", marketplace_id)
            or _first_value(attributes, "product_description", marketplace_id)
            or ""
        ),
        "images": _images(catalog, marketplace_id) or _listing_images(summary, attributes),
        "price": _price(item.get("offers"), marketplace_id),
        "fba_quantity": fba,
        "mfn_quantity": mfn,
        "status": sorted(str(s) for s in summary.get("status") or []),
        "issues": [_issue(i) for i in item.get("issues") or [] if isinstance(i, dict)],
    }
    brand = catalog_summary.get("brand") or _first_value(
        catalog_attributes, "brand", marketplace_id
    )
    if brand:
        content["brand"] = str(brand)
    product_type = (_for_marketplace(catalog.get("productTypes"), marketplace_id) or {}).get(
        "productType"
    ) or summary.get("productType")
    if product_type:
        content["product_type"] = str(product_type)
    return content


# The detail-page fields a seller edits and a catalog merges, in both sides.
CONTENT_FIELDS = ("title", "bullets", "description", "images")
SELLER_SIDE = "seller"


def seller_content_from(item: dict, *, marketplace_id: str | None = None) -> dict[str, Any] | None:
    """The seller's own title, bullets, description and images (the Listings
    `attributes`, "the seller's submitted attribute data"); None without attributes."""
    attributes = item.get("attributes")
    if not isinstance(attributes, dict):
        return None
    if marketplace_id is None:
        summary = _for_marketplace(item.get("summaries"), None) or {}
        marketplace_id = summary.get("marketplaceId")
    images = []
    for name, variant in [("main_product_image_locator", "MAIN")] + [
        (f"other_product_image_locator_{n}", f"PT{n:02d}") for n in range(1, 9)
    ]:
        for entry in attributes.get(name) or []:
            if not isinstance(entry, dict) or not entry.get("media_location"):
                continue
            market = entry.get("marketplace_id")
            if marketplace_id and market and market != marketplace_id:
                continue
            images.append({"variant": variant, "link": str(entry["media_location"])})
            break
    return {
        "title": _first_value(attributes, "item_name", marketplace_id) or "",
        "bullets": _values(attributes, "bullet_point", marketplace_id),
        "description": _first_value(attributes, "product_description", marketplace_id) or "",
        "images": images,
    }


def content_sides(content: dict | None) -> tuple[dict | None, dict | None]:
    """(what shoppers saw, what the seller submitted or None) of a stored content."""
    if content is None:
        return None, None
    shown = {k: v for k, v in content.items() if k != SELLER_SIDE}
    return shown, content.get(SELLER_SIDE)


def _for_marketplace(entries: Any, marketplace_id: str | None) -> dict | None:
    if not isinstance(entries, list):
        return None
    dicts = [e for e in entries if isinstance(e, dict)]
    for entry in dicts:
        if marketplace_id is None or entry.get("marketplaceId") == marketplace_id:
            return entry
    return None


def _values(attributes: dict, name: str, marketplace_id: str | None) -> list[str]:
    """Attribute values for this marketplace; values without a marketplace_id apply to all."""
    out = []
    for entry in attributes.get(name) or []:
        if not isinstance(entry, dict) or "value" not in entry:
            continue
        market = entry.get("marketplace_id")
        if marketplace_id and market and market != marketplace_id:
            continue
        out.append(str(entry["value"]))
    return out


def _first_value(attributes: dict, name: str, marketplace_id: str | None) -> str | None:
    values = _values(attributes, name, marketplace_id)
    return values[0] if values else None


def _images(catalog: dict, marketplace_id: str | None) -> list[dict]:
    """One image per variant, the largest: the catalog also lists _SL75_ thumbnails."""
    group = _for_marketplace(catalog.get("images"), marketplace_id) or {}
    best: dict[str, dict] = {}
    for image in group.get("images") or []:
        if not isinstance(image, dict) or not image.get("link"):
            continue
        variant = str(image.get("variant") or "MAIN")
        area = (image.get("height") or 0) * (image.get("width") or 0)
        if variant not in best or area > best[variant]["area"]:
            best[variant] = {"variant": variant, "link": str(image["link"]), "area": area}
    ordered = sorted(best.values(), key=lambda i: (i["variant"] != "MAIN", i["variant"]))
    return [{"variant": i["variant"], "link": i["link"]} for i in ordered]


def _listing_images(summary: dict, attributes: dict) -> list[dict]:
    """Without a catalog item: the main image and the other_product_image_locator_N ones."""
    images = []
    main = (summary.get("mainImage") or {}).get("link")
    if main:
        images.append({"variant": "MAIN", "link": str(main)})
    for n in range(1, 9):
        for entry in attributes.get(f"other_product_image_locator_{n}") or []:
            if isinstance(entry, dict) and entry.get("media_location"):
                images.append({"variant": f"PT{n:02d}", "link": str(entry["media_location"])})
                break
    return images


def _price(offers: Any, marketplace_id: str | None) -> dict | None:
    """The consumer (B2C) offer's price, as a decimal string: exact, never a float."""
    for offer in offers or []:
        if not isinstance(offer, dict) or offer.get("offerType", "B2C") != "B2C":
            continue
        if marketplace_id and offer.get("marketplaceId") not in (None, marketplace_id):
            continue
        price = offer.get("price") or {}
        try:
            amount = Decimal(str(price["amount"]))
        except (KeyError, InvalidOperation):
            continue
        currency = price.get("currencyCode") or price.get("currency") or ""
        return {"amount": str(amount.quantize(Decimal("0.01"))), "currency": str(currency)}
    return None


def _quantities(entries: Any) -> tuple[int | None, int | None]:
    fba = mfn = None
    for entry in entries or []:
        if not isinstance(entry, dict):
            continue
        quantity = entry.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            quantity = None
        if entry.get("fulfillmentChannelCode") == MFN_CHANNEL:
            mfn = quantity if quantity is not None else mfn
        elif quantity is not None:
            fba = (fba or 0) + quantity
    return fba, mfn


def _issue(raw: dict) -> dict:
    enforcements = raw.get("enforcements") or {}
    actions = [
        str(a["action"])
        for a in enforcements.get("actions") or []
        if isinstance(a, dict) and a.get("action")
    ]
    return {
        "code": str(raw.get("code", "")),
        "severity": str(raw.get("severity", "")),
        "message": str(raw.get("message", "")),
        "enforcement": actions,
    }
