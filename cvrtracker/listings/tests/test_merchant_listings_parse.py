"""merchant_listings_parse: GET_MERCHANT_LISTINGS_ALL_DATA with the column sets seen in the wild."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from cvrtracker.listings.merchant_listings import MerchantReportError, merchant_listings_parse
from cvrtracker.simulator.reports import build_merchant_listings
from cvrtracker.simulator.world import World

SAMPLES = Path("/work/shared/specs/sp-api-samples")
# The 27 columns of older reports, ending at fulfillment-channel (SOURCE.md).
COLUMNS_27 = (
    "item-name\titem-description\tlisting-id\tseller-sku\tprice\tquantity\topen-date\t"
    "image-url\titem-is-marketplace\tproduct-id-type\tzshop-shipping-fee\titem-note\t"
    "item-condition\tzshop-category1\tzshop-browse-path\tzshop-storefront-feature\tasin1\t"
    "asin2\tasin3\twill-ship-internationally\texpedited-shipping\tzshop-boldface\tproduct-id\t"
    "bid-for-featured-placement\tadd-delete\tpending-quantity\tfulfillment-channel"
)


def _line(**cells: str) -> str:
    names = COLUMNS_27.split("\t")
    return "\t".join(cells.get(name.replace("-", "_"), "") for name in names)


def test_it_reads_the_simulators_report():
    world = World(seed=3, asins=30)
    seller = world.sellers[0]
    document = build_merchant_listings(
        world, seller, as_of=world.clock.now(), base_url="https://sim"
    )
    rows = merchant_listings_parse(gzip.decompress(document))
    assert [r.sku for r in rows] == sorted(p.sku for p in seller.products)
    by_sku = {r.sku: r for r in rows}
    for product in seller.products:
        row = by_sku[product.sku]
        assert row.asin == product.asin
        assert (row.quantity is None) == product.fba
        assert row.fulfillment_channel == ("AMAZON_NA" if product.fba else "DEFAULT")


def test_it_reads_27_columns_crlf_a_bom_and_short_lines():
    text = "\ufeff" + COLUMNS_27 + "\r\n"
    text += (
        _line(
            item_name="Mug",
            seller_sku="B-2",
            quantity="4",
            asin1="B0000000B2",
            fulfillment_channel="DEFAULT",
        )
        + "\r\n"
    )
    # Trailing empty values left out, and the ASIN only as product-id of type 1.
    text += "Kettle\t\t\tA-1\t9.99\t\t\t\t\t1\t\t\t\t\t\t\t\t\t\t\t\t\tB0000000A1\r\n\r\n"
    rows = merchant_listings_parse(text.encode())
    assert [(r.sku, r.asin, r.title, r.quantity) for r in rows] == [
        ("A-1", "B0000000A1", "Kettle", None),
        ("B-2", "B0000000B2", "Mug", 4),
    ]
    assert rows[0].status == "" and not rows[0].is_active


def test_it_reads_the_columns_airbyte_met_on_a_live_account():
    records = [
        json.loads(line)["data"]
        for line in (SAMPLES / "airbyte_expected_records_excerpt_listings_orders.jsonl")
        .read_text()
        .splitlines()
        if '"GET_MERCHANT_LISTINGS_ALL_DATA"' in line
    ]
    columns = [c for c in records[0] if c != "dataEndTime"]  # airbyte's own addition
    # Column order scrambled and B2B columns added: found by name all the same.
    columns = columns[::-1] + ["Business Price", "Quantity Price Type"]
    text = "\t".join(columns) + "\n"
    text += "\n".join("\t".join(r.get(c, "") for c in columns) for r in records) + "\n"
    rows = merchant_listings_parse(text.encode())
    assert len(rows) == len(records) == 8
    gift = next(r for r in rows if r.sku == "I0-RALD-N1UR")
    assert (gift.asin, gift.quantity, gift.is_active) == ("B0B68NBQ1Y", 1000, True)


def test_it_reads_windows_1252_text():
    text = "seller-sku\titem-name\tasin1\nSKU-1\tCaf\xe9 \u20ac mug\tB000000001\n"
    rows = merchant_listings_parse(text.encode("cp1252"))
    assert rows[0].title == "Caf\xe9 \u20ac mug"


def test_an_empty_document_is_no_listings():
    assert merchant_listings_parse(b"") == []
    assert merchant_listings_parse(COLUMNS_27.encode() + b"\n") == []


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"sku-ish\titem-name\nA\tB\n", "no seller-sku column"),
        (b"seller-sku\titem-name\nA\tB\tC\n", "line 2 of the merchant listings report has 3"),
        (
            b"seller-sku\titem-name\nA\tB\n\tnameless\n",
            "line 3 of the merchant listings report has no SKU",
        ),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "binary"),
        (b"<html><body>Access denied</body></html>", "no seller-sku column"),
    ],
)
def test_a_malformed_report_is_refused_with_a_clear_error(document, message):
    with pytest.raises(MerchantReportError, match=message):
        merchant_listings_parse(document)
