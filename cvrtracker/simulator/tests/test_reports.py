"""Reports 2021-06-30: the state machine, documents and Sales & Traffic quirks."""

from __future__ import annotations

import gzip
import json

from cvrtracker.simulator.contract import validate_report_document
from cvrtracker.simulator.reports import MERCHANT_LISTING_COLUMNS

from .conftest import MARKET, advance, next_st_slot

REPORTS = "/reports/2021-06-30/reports"
SNT = "GET_SALES_AND_TRAFFIC_REPORT"


def create(client, token, start="2026-11-20", end="2026-11-20", market=MARKET, **options):
    spec = {
        "reportType": SNT,
        "marketplaceIds": [market],
        "dataStartTime": start,
        "dataEndTime": end,
        "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD", **options},
    }
    next_st_slot(client.server)  # one Sales & Traffic request per interval
    answer = client.post(REPORTS, token=token, json_body=spec)
    assert answer.status == 202
    return answer.json()["reportId"]


def finished(client, token, report_id) -> dict:
    advance(client, seconds=60)
    return client.get(f"{REPORTS}/{report_id}", token=token).json()


def download(client, token, report_id) -> bytes:
    report = finished(client, token, report_id)
    assert report["processingStatus"] == "DONE"
    document = client.get(
        f"/reports/2021-06-30/documents/{report['reportDocumentId']}", token=token
    ).json()
    assert document["compressionAlgorithm"] == "GZIP"
    answer = client.get(document["url"])  # no SP-API token, as with S3
    assert answer.status == 200
    return gzip.decompress(answer.body)


def snt(client, token, **kwargs) -> dict:
    doc = json.loads(download(client, token, create(client, token, **kwargs)))
    validate_report_document(SNT, doc)
    return doc


def test_it_walks_in_queue_in_progress_done(client, token, server):
    report_id = create(client, token)
    first = client.get(f"{REPORTS}/{report_id}", token=token).json()
    assert first["processingStatus"] == "IN_QUEUE"
    assert "processingStartTime" not in first
    advance(client, seconds=server.sim.timings.queue_seconds + 0.01)
    assert client.get(f"{REPORTS}/{report_id}", token=token).json()["processingStatus"] == (
        "IN_PROGRESS"
    )
    done = finished(client, token, report_id)
    assert done["processingStatus"] == "DONE"
    assert done["reportDocumentId"].startswith("amzn1.spdoc.1.4.na.")
    assert done["processingEndTime"] >= done["processingStartTime"] >= done["createdTime"]


def test_it_cancels_a_start_more_than_two_years_back(client, token):
    report_id = create(client, token, start="2024-11-01", end="2024-11-02")
    report = finished(client, token, report_id)
    assert report["processingStatus"] == "CANCELLED"
    assert "reportDocumentId" not in report


def test_it_cancels_a_report_in_queue_only(client, token):
    report_id = create(client, token)
    assert client.request("DELETE", f"{REPORTS}/{report_id}", token=token).status == 200
    assert finished(client, token, report_id)["processingStatus"] == "CANCELLED"
    done_id = create(client, token)
    finished(client, token, done_id)
    assert client.request("DELETE", f"{REPORTS}/{done_id}", token=token).status == 400


def test_it_lists_reports_by_type_and_status_with_pages(client, token):
    ids = [create(client, token) for _ in range(3)]
    first = client.get(REPORTS, token=token, params={"reportTypes": SNT, "pageSize": 2}).json()
    assert [r["reportId"] for r in first["reports"]] == ids[::-1][:2]
    second = client.get(REPORTS, token=token, params={"nextToken": first["nextToken"]}).json()
    assert [r["reportId"] for r in second["reports"]] == ids[:1]
    none = client.get(
        REPORTS, token=token, params={"reportTypes": SNT, "processingStatuses": "DONE"}
    ).json()
    assert none["reports"] == []


def test_document_urls_expire_after_five_minutes(client, token):
    report = finished(client, token, create(client, token))
    url = client.get(
        f"/reports/2021-06-30/documents/{report['reportDocumentId']}", token=token
    ).json()["url"]
    advance(client, seconds=301)
    answer = client.get(url)
    assert answer.status == 403
    assert b"Request has expired" in answer.body


def test_document_urls_cannot_be_forged(client, token):
    report = finished(client, token, create(client, token))
    url = client.get(
        f"/reports/2021-06-30/documents/{report['reportDocumentId']}", token=token
    ).json()["url"]
    assert client.get(url[:-4] + "0000").status == 403


def test_the_by_asin_section_covers_the_whole_range(client, token):
    days = [snt(client, token, start=f"2026-11-{d}", end=f"2026-11-{d}") for d in (10, 11, 12)]
    whole = snt(client, token, start="2026-11-10", end="2026-11-12")
    assert len(whole["salesAndTrafficByDate"]) == 3
    assert all("date" not in row for row in whole["salesAndTrafficByAsin"])
    for n, row in enumerate(whole["salesAndTrafficByAsin"]):
        assert row["salesByAsin"]["unitsOrdered"] == sum(
            d["salesAndTrafficByAsin"][n]["salesByAsin"]["unitsOrdered"] for d in days
        )
        assert row["trafficByAsin"]["sessions"] == sum(
            d["salesAndTrafficByAsin"][n]["trafficByAsin"]["sessions"] for d in days
        )


def test_recent_days_have_sales_before_sessions(client, token):
    doc = snt(client, token, start="2026-11-24", end="2026-11-28")
    by_date = {row["date"]: row for row in doc["salesAndTrafficByDate"]}
    assert by_date["2026-11-25"]["trafficByDate"]["sessions"] > 0
    for late in ("2026-11-26", "2026-11-27", "2026-11-28"):
        assert by_date[late]["trafficByDate"]["sessions"] == 0
        assert by_date[late]["salesByDate"]["unitsOrdered"] > 0


def test_week_granularity_widens_to_sunday_through_saturday(client, token):
    doc = snt(client, token, start="2026-11-04", end="2026-11-05", dateGranularity="WEEK")
    assert doc["reportSpecification"]["dataStartTime"] == "2026-11-01"  # a Sunday
    assert doc["reportSpecification"]["dataEndTime"] == "2026-11-07"
    assert [row["date"] for row in doc["salesAndTrafficByDate"]] == ["2026-11-01"]


def test_parent_granularity_has_one_row_per_parent(client, token, seller):
    doc = snt(client, token, asinGranularity="PARENT")
    parents = [row["parentAsin"] for row in doc["salesAndTrafficByAsin"]]
    assert sorted(parents) == sorted({p.parent_asin for p in seller.products})
    assert all("childAsin" not in row for row in doc["salesAndTrafficByAsin"])


def test_sku_granularity_names_the_sku(client, token, seller):
    doc = snt(client, token, asinGranularity="SKU")
    assert [row["sku"] for row in doc["salesAndTrafficByAsin"]] == [p.sku for p in seller.products]


def test_merchant_listings_is_tab_separated(client, token, seller):
    spec = {"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [MARKET]}
    report_id = client.post(REPORTS, token=token, json_body=spec).json()["reportId"]
    lines = download(client, token, report_id).decode().splitlines()
    assert lines[0].split("\t") == list(MERCHANT_LISTING_COLUMNS)
    rows = [
        dict(zip(MERCHANT_LISTING_COLUMNS, line.split("\t"), strict=True)) for line in lines[1:]
    ]
    assert [r["seller-sku"] for r in rows] == [p.sku for p in seller.products]
    fba = {p.sku: p.fba for p in seller.products}
    assert all((r["fulfillment-channel"] == "AMAZON_NA") == fba[r["seller-sku"]] for r in rows)


def test_it_refuses_an_unknown_report_option(client, token):
    spec = {
        "reportType": SNT,
        "marketplaceIds": [MARKET],
        "reportOptions": {"dateGranularity": "HOUR"},
    }
    assert client.post(REPORTS, token=token, json_body=spec).status == 400


def test_content_encoding_header_on_request(client, token):
    report = finished(client, token, create(client, token))
    url = client.get(
        f"/reports/2021-06-30/documents/{report['reportDocumentId']}",
        token=token,
        params={"enableContentEncodingUrlHeader": "true"},
    ).json()["url"]
    assert client.get(url).headers["Content-Encoding"] == "gzip"


def test_a_thirty_day_range_adds_up_the_days_asin_by_asin(client, token):
    """The quick totals' report (metrics/quick.py): one CHILD report over 30 days ending
    yesterday. Each by-ASIN row is that ASIN's days added up: a session is "all activity
    within a 24-hour period" (report schema), so a shopper who comes back on another day
    is another session; the by-date section keeps one row per day; the days whose traffic
    has not arrived add their units and no sessions."""
    days = [f"2026-10-{d}" for d in (30, 31)] + [f"2026-11-{d:02d}" for d in range(1, 29)]
    whole = snt(client, token, start=days[0], end=days[-1])
    singles = [snt(client, token, start=day, end=day) for day in days]
    assert [row["date"] for row in whole["salesAndTrafficByDate"]] == days
    for row, single in zip(whole["salesAndTrafficByDate"], singles, strict=True):
        assert [row] == single["salesAndTrafficByDate"]
    additive = {
        "salesByAsin": ("unitsOrdered", "totalOrderItems"),
        "trafficByAsin": ("sessions", "browserSessions", "mobileAppSessions", "pageViews"),
    }
    by_day = [{r["childAsin"]: r for r in s["salesAndTrafficByAsin"]} for s in singles]
    rows = whole["salesAndTrafficByAsin"]
    assert len({r["childAsin"] for r in rows}) == len(rows) == 20
    for row in rows:
        assert "date" not in row
        mine = [d[row["childAsin"]] for d in by_day if row["childAsin"] in d]
        for section, names in additive.items():
            for name in names:
                assert row[section][name] == sum(d[section][name] for d in mine), name
        cents = sum(round(d["salesByAsin"]["orderedProductSales"]["amount"] * 100) for d in mine)
        assert abs(row["salesByAsin"]["orderedProductSales"]["amount"] * 100 - cents) <= 1
        traffic = row["trafficByAsin"]
        # Buy Box share over the range: weighted by each day's page views.
        weighted = sum(
            d["trafficByAsin"]["buyBoxPercentage"] * d["trafficByAsin"]["pageViews"] for d in mine
        )
        assert abs(traffic["buyBoxPercentage"] - weighted / traffic["pageViews"]) < 0.01
        units = row["salesByAsin"]["unitsOrdered"]
        assert traffic["unitSessionPercentage"] == round(100 * units / traffic["sessions"], 2)
    # The last three days' sales are in and their sessions are not (models#2955).
    late = singles[-3:]
    assert all(
        r["trafficByAsin"]["sessions"] == 0 for s in late for r in s["salesAndTrafficByAsin"]
    )
    assert sum(r["salesByAsin"]["unitsOrdered"] for s in late for r in s["salesAndTrafficByAsin"])
