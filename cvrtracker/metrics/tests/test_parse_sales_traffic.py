"""parse_sales_traffic: real documents from the simulator, and every kind of broken one."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from django.conf import settings

from cvrtracker.metrics.report import (
    ReportFormatError,
    _typed_report,
    parse_sales_traffic,
    to_minor,
)
from cvrtracker.simulator.contract import validate_report_document

from .helpers import MARKET, SIM_DAYS, report_json, sim_payloads

SAMPLES = Path(settings.SPECS_DIR) / "sp-api-samples"


def day_document() -> bytes:
    return sim_payloads()["days"][SIM_DAYS[0]]


def test_it_parses_a_child_report_from_gzip_bytes():
    body = day_document()
    validate_report_document("GET_SALES_AND_TRAFFIC_REPORT", report_json(body))
    report = parse_sales_traffic(body)
    assert report.start == report.end == SIM_DAYS[0]
    assert report.asin_granularity == "CHILD"
    assert report.marketplace_ids == (MARKET,)
    assert len(report.by_asin) == 20
    (day,) = report.by_date
    # A shopper who saw several ASINs counts once for the account (docs#2357).
    assert 0 < day.sessions <= sum(r.sessions for r in report.by_asin)
    assert day.units_ordered == sum(r.units_ordered for r in report.by_asin)
    total = sum(r.ordered_product_sales.amount_minor for r in report.by_asin)
    assert day.ordered_product_sales.amount_minor == total
    assert all(r.child_asin and r.parent_asin and r.sku is None for r in report.by_asin)


def test_plain_bytes_and_parsed_json_give_the_same_report():
    body = day_document()
    assert parse_sales_traffic(gzip.decompress(body)) == parse_sales_traffic(body)
    assert parse_sales_traffic(report_json(body)) == parse_sales_traffic(body)


def test_percentages_stay_percent_values():
    raw = report_json(day_document())
    report = parse_sales_traffic(raw)
    for parsed, row in zip(report.by_asin, raw["salesAndTrafficByAsin"], strict=True):
        assert parsed.unit_session_percentage == row["trafficByAsin"]["unitSessionPercentage"]
        assert parsed.buy_box_percentage == row["trafficByAsin"]["buyBoxPercentage"]


def test_a_day_with_sales_and_no_sessions_is_pending_not_zero():
    settled = parse_sales_traffic(sim_payloads()["days"][SIM_DAYS[1]])
    lagging = parse_sales_traffic(sim_payloads()["days"][SIM_DAYS[-1]])
    assert not settled.pending
    assert lagging.pending
    (day,) = lagging.by_date
    assert day.units_ordered > 0 and day.sessions == 0 and day.pending


def test_it_parses_the_sku_granularity_sample_with_money_in_cents():
    report = parse_sales_traffic((SAMPLES / "airbyte_sales_and_traffic_report.json").read_bytes())
    assert report.asin_granularity == "SKU"
    assert all(r.sku for r in report.by_asin)
    assert report.by_date[0].ordered_product_sales.currency


def test_amounts_become_exact_minor_units():
    assert to_minor(0.29, "USD") == 29
    assert to_minor("1234.5", "EUR") == 123450
    assert to_minor(1500, "JPY") == 1500


def broken(mutate) -> dict:
    doc = report_json(day_document())
    mutate(doc)
    return doc


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
        (gzip.compress(b'{"reportSpecification": {', mtime=0)[:-6], "gzip"),
        (b'{"reportSpecification": {"reportType": "GET_SALES', "JSON"),
        (b"\xff\xfe not utf-8", "JSON"),
        (b"[]", "document is not an object"),
    ],
)
def test_it_rejects_corrupt_documents(document, message):
    with pytest.raises(ReportFormatError, match=message):
        parse_sales_traffic(document)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("salesAndTrafficByAsin"), "salesAndTrafficByAsin is missing"),
        (lambda d: d.pop("reportSpecification"), "reportSpecification is missing"),
        (lambda d: d.update(salesAndTrafficByDate={}), "salesAndTrafficByDate is not a list"),
        (
            lambda d: d["salesAndTrafficByAsin"][3]["trafficByAsin"].update(sessions="12"),
            r"salesAndTrafficByAsin\[3\].trafficByAsin.sessions",
        ),
        (
            lambda d: d["salesAndTrafficByAsin"][5]["salesByAsin"].pop("unitsOrdered"),
            r"salesAndTrafficByAsin\[5\].salesByAsin.unitsOrdered is missing",
        ),
        (
            lambda d: d["salesAndTrafficByDate"][0]["salesByDate"]["orderedProductSales"].update(
                amount=None
            ),
            "amount is not a number",
        ),
        (lambda d: d["salesAndTrafficByDate"][0].update(date="yesterday"), "is not a date"),
        (lambda d: d["salesAndTrafficByAsin"][0].pop("parentAsin"), "parentAsin is missing"),
        (
            lambda d: d["salesAndTrafficByAsin"][0]["trafficByAsin"].update(buyBoxPercentage=True),
            "buyBoxPercentage is not a percentage",
        ),
        (
            lambda d: d["reportSpecification"].update(reportType="GET_FLAT_FILE_OPEN_LISTINGS"),
            "not a Sales & Traffic report",
        ),
    ],
)
def test_it_rejects_missing_sections_fields_and_wrong_types(mutate, message):
    doc = broken(mutate)
    with pytest.raises(ReportFormatError, match=message):
        parse_sales_traffic(doc)
    with pytest.raises(ReportFormatError, match=message):
        parse_sales_traffic(gzip.compress(json.dumps(doc).encode()))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["salesAndTrafficByAsin"][1]["trafficByAsin"].update(sessions=-73519),
        lambda d: d["salesAndTrafficByAsin"][1]["trafficByAsin"].update(buyBoxPercentage=-73519),
        lambda d: d["salesAndTrafficByAsin"][1]["salesByAsin"]["orderedProductSales"].update(
            amount="73519x"
        ),
        lambda d: d["salesAndTrafficByAsin"][1]["salesByAsin"]["orderedProductSales"].update(
            amount="-Infinity73519"
        ),
        lambda d: d["salesAndTrafficByAsin"][1]["salesByAsin"]["orderedProductSales"].update(
            currencyCode="73519"
        ),
        lambda d: d["salesAndTrafficByDate"][0].update(date="73519"),
    ],
)
def test_its_errors_never_repeat_a_value_of_the_report(mutate):
    # The sync logs the message and stores it in plaintext as the day's last error.
    with pytest.raises(ReportFormatError) as error:
        parse_sales_traffic(broken(mutate))
    assert "73519" not in str(error.value)


def test_bytes_take_the_lean_path_and_agree_with_the_careful_parser():
    body = day_document()
    lean = _typed_report(gzip.decompress(body))
    assert lean is not None  # a normal document never builds the dict tree
    assert lean == parse_sales_traffic(report_json(body))  # dicts: the careful parser


@pytest.mark.parametrize(
    "mutate",
    [
        # Values the careful parser accepts but the lean path's types do not expect.
        lambda d: d["salesAndTrafficByAsin"][2]["trafficByAsin"].update(sessions=12.0),
        lambda d: d["salesAndTrafficByAsin"][4]["salesByAsin"]["orderedProductSales"].update(
            amount="12.34"
        ),
        lambda d: [
            row["salesByAsin"]["orderedProductSales"].update(currencyCode="JPY", amount=1500)
            for row in d["salesAndTrafficByAsin"]
        ],
    ],
)
def test_unusual_documents_fall_back_to_the_careful_parser_with_the_same_result(mutate):
    doc = broken(mutate)
    data = json.dumps(doc).encode()
    assert _typed_report(data) is None
    assert parse_sales_traffic(gzip.compress(data)) == parse_sales_traffic(doc)
