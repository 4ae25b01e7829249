"""Data Kiosk 2023-11-15: queries, refusals, the state machine and the documents' numbers."""

from __future__ import annotations

import gzip
import json

import pytest

from cvrtracker.simulator import datakiosk as dk
from cvrtracker.simulator.contract import ContractError, validate_datakiosk_document
from cvrtracker.simulator.specs import operations

from .conftest import MARKET, advance, next_st_slot

QUERIES = "/dataKiosk/2023-11-15/queries"
SALES = "sales { unitsOrdered totalOrderItems orderedProductSales { amount currencyCode } }"
TRAFFIC = (
    "traffic { sessions browserSessions mobileAppSessions pageViews browserPageViews "
    "mobileAppPageViews buyBoxPercentage unitSessionPercentage sessionPercentage "
    "browserSessionPercentage mobileAppSessionPercentage pageViewsPercentage "
    "browserPageViewsPercentage mobileAppPageViewsPercentage }"
)


def trends(asins, start="2026-11-20", end="2026-11-22", market=MARKET, aggregation="DAY"):
    listed = ", ".join(f'"{a}"' for a in asins)
    return (
        "query { analytics_salesAndTraffic_2024_04_24 { salesAndTrafficTrends("
        f"asinAggregation: CHILD, dateAggregation: {aggregation}, "
        f'startDate: "{start}", endDate: "{end}", '
        f'filters: [{{marketplaceId: "{market}", asins: [{listed}]}}]) '
        f"{{ startDate endDate marketplaceId parentAsin childAsin {SALES} {TRAFFIC} }} }} }}"
    )


def by_date(start="2026-11-20", end="2026-11-22", aggregation="DAY"):
    return (
        "query { analytics_salesAndTraffic_2024_04_24 { salesAndTrafficByDate("
        f'aggregateBy: {aggregation}, startDate: "{start}", endDate: "{end}", '
        f'marketplaceIds: ["{MARKET}"]) {{ startDate endDate marketplaceId '
        "sales { unitsOrdered orderedProductSales { amount currencyCode } } "
        "traffic { sessions pageViews buyBoxPercentage } } } }"
    )


def create(client, token, query) -> str:
    answer = client.post(QUERIES, token=token, json_body={"query": query})
    assert answer.status == 202, answer.body
    return answer.json()["queryId"]


def done(client, token, query_id) -> dict:
    advance(client, seconds=60)
    return client.get(f"{QUERIES}/{query_id}", token=token).json()


def lines(client, token, query) -> list[dict]:
    body = done(client, token, create(client, token, query))
    assert body["processingStatus"] == "DONE"
    if "dataDocumentId" not in body:
        return []
    meta = client.get(f"/dataKiosk/2023-11-15/documents/{body['dataDocumentId']}", token=token)
    answer = client.get(meta.json()["documentUrl"])  # presigned: no SP-API token
    assert answer.status == 200
    assert answer.headers["Content-Encoding"] == "gzip"
    rows = [json.loads(line) for line in gzip.decompress(answer.body).decode().splitlines()]
    validate_datakiosk_document(query, rows)
    return rows


def test_the_operations_and_usage_plans_come_from_the_model():
    ops = operations()
    assert (ops["createQuery"].rate, ops["createQuery"].burst) == (0.0167, 15)
    assert (ops["getQuery"].rate, ops["getQuery"].burst) == (2.0, 15)
    assert (ops["getDocument"].rate, ops["getDocument"].burst) == (0.0167, 15)
    assert ops["cancelQuery"].method == "DELETE"
    assert ops["getQueries"].path == "/dataKiosk/2023-11-15/queries"


def test_a_query_walks_in_queue_in_progress_done(client, token, server, seller):
    query = trends([seller.products[0].asin])
    query_id = create(client, token, query)
    first = client.get(f"{QUERIES}/{query_id}", token=token).json()
    assert first["processingStatus"] == "IN_QUEUE" and first["query"] == query
    advance(client, seconds=server.sim.timings.queue_seconds + 0.01)
    second = client.get(f"{QUERIES}/{query_id}", token=token).json()
    assert second["processingStatus"] == "IN_PROGRESS" and "processingStartTime" in second
    last = done(client, token, query_id)
    assert last["processingStatus"] == "DONE"
    assert last["dataDocumentId"] and "errorDocumentId" not in last and "pagination" not in last
    listed = client.get(QUERIES, token=token, params={"processingStatuses": "DONE"}).json()
    assert [q["queryId"] for q in listed["queries"]] == [query_id]


def test_trends_rows_are_per_asin_and_day_with_the_selected_fields(client, token, seller):
    asins = [p.asin for p in seller.products[:3]]
    rows = lines(client, token, trends(asins))
    assert {(r["childAsin"], r["startDate"]) for r in rows} <= {
        (a, d) for a in asins for d in ("2026-11-20", "2026-11-21", "2026-11-22")
    }
    assert all(r["startDate"] == r["endDate"] and r["marketplaceId"] == MARKET for r in rows)
    assert set(rows[0]) == {"startDate", "endDate", "marketplaceId", "parentAsin", "childAsin",
                            "sales", "traffic"}  # fmt: skip


def test_trends_rows_equal_the_one_day_child_reports_by_asin_rows(server, client, token, seller):
    """Both routes read one world: field by field, for several days, traffic lag included."""
    asins = [p.asin for p in seller.products[:12]]
    days = ["2026-11-10", "2026-11-25", "2026-11-27", "2026-11-28"]  # the last two: no traffic yet
    rows = lines(client, token, trends(asins, start=days[0], end=days[-1]))
    by_key = {(r["childAsin"], r["startDate"]): r for r in rows}
    compared = 0
    for day in days:
        next_st_slot(server)  # one Sales & Traffic report per 15 minutes, as Amazon meters it
        report_id = client.post(
            "/reports/2021-06-30/reports",
            token=token,
            json_body={
                "reportType": "GET_SALES_AND_TRAFFIC_REPORT",
                "marketplaceIds": [MARKET],
                "dataStartTime": day,
                "dataEndTime": day,
                "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
            },
        ).json()["reportId"]
        advance(client, seconds=60)
        report = client.get(f"/reports/2021-06-30/reports/{report_id}", token=token).json()
        meta = client.get(
            f"/reports/2021-06-30/documents/{report['reportDocumentId']}", token=token
        ).json()
        doc = json.loads(gzip.decompress(client.get(meta["url"]).body))
        for row in doc["salesAndTrafficByAsin"]:
            if row["childAsin"] not in asins:
                continue
            dk_row = by_key.get((row["childAsin"], day))
            sales, traffic = row["salesByAsin"], row["trafficByAsin"]
            if dk_row is None:
                # Only ASINs with traffic or sales that day have a row.
                assert traffic["sessions"] == traffic["pageViews"] == sales["unitsOrdered"] == 0
                continue
            assert dk_row["parentAsin"] == row["parentAsin"]
            assert dk_row["sales"] == sales
            assert dk_row["traffic"] == traffic
            compared += 1
    assert compared >= 30


def test_by_date_rows_and_week_narrowing(client, token):
    rows = lines(client, token, by_date())
    assert [r["startDate"] for r in rows] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert all(r["sales"]["orderedProductSales"]["currencyCode"] == "USD" for r in rows)
    # 2026-11-04 is a Wednesday: WEEK narrows to Sunday 11-08 .. Saturday 11-21.
    weeks = lines(client, token, by_date(start="2026-11-04", end="2026-11-25", aggregation="WEEK"))
    assert [(r["startDate"], r["endDate"]) for r in weeks] == [
        ("2026-11-08", "2026-11-14"),
        ("2026-11-15", "2026-11-21"),
    ]


def test_unknown_asins_give_done_without_a_document(client, token):
    body = done(client, token, create(client, token, trends(["B0NOSUCHAS"])))
    assert body["processingStatus"] == "DONE"
    assert "dataDocumentId" not in body and "errorDocumentId" not in body


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("query { nope }", "Cannot query field"),
        ("query { analytics_salesAndTraffic_2024_04_24 { salesAndTrafficTrends", "Syntax Error"),
        (trends(["B0X"], start="2024-11-28", end="2024-12-01"), "two years"),
        (trends([f"B0{n:08d}" for n in range(31)]), "1 to 30 ASINs"),
        (trends(["B0X"], market="A1PA6795UKMFR9"), "does not sell in A1PA6795UKMFR9"),
        (trends(["B0X"], start="2026-11-22", end="2026-11-20"), "endDate is before"),
        (trends(["B0X"]).replace("asinAggregation: CHILD", "asinAggregation: PARENT"), "CHILD"),
        (trends(["B0X"]).replace("startDate:", "beginDate:"), "Unknown argument"),
        (
            "query { analytics_salesAndTraffic_2024_04_24 { salesAndTrafficTrends"
            + "(x: 1) { "
            + "childAsin " * 1700
            + "} } }",
            "8000",
        ),  # fmt: skip
    ],
)
def test_a_bad_query_is_refused_with_amazons_error_shape(client, token, query, words):
    answer = client.post(QUERIES, token=token, json_body={"query": query})
    assert answer.status == 400  # the client validated the ErrorList shape
    assert words in answer.json()["errors"][0]["message"]


def test_cancel_only_before_done_and_twice_is_a_no_op(client, token, seller):
    query_id = create(client, token, trends([seller.products[0].asin]))
    assert client.request("DELETE", f"{QUERIES}/{query_id}", token=token).status == 204
    assert client.request("DELETE", f"{QUERIES}/{query_id}", token=token).status == 204
    assert done(client, token, query_id)["processingStatus"] == "CANCELLED"
    other = create(client, token, trends([seller.products[0].asin]))
    done(client, token, other)
    assert client.request("DELETE", f"{QUERIES}/{other}", token=token).status == 400


def test_a_fatal_query_carries_an_error_document(client, token, seller):
    client.post("/_sim/faults", json_body={"operation": "createQuery", "report_outcome": "FATAL"})
    body = done(client, token, create(client, token, trends([seller.products[0].asin])))
    assert body["processingStatus"] == "FATAL" and "dataDocumentId" not in body
    meta = client.get(f"/dataKiosk/2023-11-15/documents/{body['errorDocumentId']}", token=token)
    error = json.loads(gzip.decompress(client.get(meta.json()["documentUrl"]).body))
    assert "errorMessage" in error


def test_a_corrupt_document_is_cut_mid_line(client, token, seller):
    client.post("/_sim/faults", json_body={"operation": "getDocument", "corrupt_document": True})
    body = done(client, token, create(client, token, trends([p.asin for p in seller.products])))
    meta = client.get(f"/dataKiosk/2023-11-15/documents/{body['dataDocumentId']}", token=token)
    text = gzip.decompress(client.get(meta.json()["documentUrl"]).body).decode()
    with pytest.raises(json.JSONDecodeError):
        [json.loads(line) for line in text.splitlines()]


def test_another_sellers_query_and_document_are_not_found(client, token, server):
    assert client.get(f"{QUERIES}/123", token=token).status == 404
    assert client.get("/dataKiosk/2023-11-15/documents/nope", token=token).status == 404


def test_the_quota_and_counters_meter_data_kiosk(server, client, token, seller):
    assert server.sim.limiter.plan("createQuery") == pytest.approx((1.67, 1500))
    create(client, token, trends([seller.products[0].asin]))
    counted = client.get("/_sim/counters", params={"sellerId": seller.id}).json()[seller.id]
    assert counted["createQuery"] == {"calls": 1, "http_202": 1}


def test_the_document_contract_check_catches_a_missing_field():
    with pytest.raises(ContractError):
        validate_datakiosk_document(by_date(), [{"startDate": "2026-11-20"}])


def test_periods_narrow_months():
    from datetime import date

    assert dk.periods(date(2026, 1, 15), date(2026, 4, 10), "MONTH") == [
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 31)),
    ]


def test_by_date_rows_equal_the_reports_by_date_rows(server, client, token):
    """The account series is the same by both routes, sessions counted once per shopper."""
    days = ["2026-11-10", "2026-11-20"]
    rows = {r["startDate"]: r for r in lines(client, token, by_date(days[0], days[-1]))}
    for day in days:
        next_st_slot(server)
        report_id = client.post(
            "/reports/2021-06-30/reports",
            token=token,
            json_body={
                "reportType": "GET_SALES_AND_TRAFFIC_REPORT",
                "marketplaceIds": [MARKET],
                "dataStartTime": day,
                "dataEndTime": day,
                "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
            },
        ).json()["reportId"]
        advance(client, seconds=60)
        report = client.get(f"/reports/2021-06-30/reports/{report_id}", token=token).json()
        meta = client.get(
            f"/reports/2021-06-30/documents/{report['reportDocumentId']}", token=token
        ).json()
        doc = json.loads(gzip.decompress(client.get(meta["url"]).body))
        (row,) = doc["salesAndTrafficByDate"]
        ours = rows[day]
        assert ours["traffic"]["sessions"] == row["trafficByDate"]["sessions"]
        assert ours["traffic"]["pageViews"] == row["trafficByDate"]["pageViews"]
        assert ours["sales"]["unitsOrdered"] == row["salesByDate"]["unitsOrdered"]
        assert ours["sales"]["orderedProductSales"] == row["salesByDate"]["orderedProductSales"]
        # At account level a shopper counts once (docs#2357): fewer than the ASINs' sum.
        by_asin = sum(r["trafficByAsin"]["sessions"] for r in doc["salesAndTrafficByAsin"])
        assert 0 < ours["traffic"]["sessions"] < by_asin


@pytest.mark.parametrize("sizes", [(1,), (3, 3), (40, 2, 2, 2), (5, 9, 14, 2, 30, 7), (2,) * 50])
def test_a_cut_never_falls_on_a_line_end(sizes):
    # Halfway plus a few characters can be a line's end, and then the "cut" document parses.
    text = "".join(json.dumps({"k": "x" * n}) + "\n" for n in sizes)
    cut = dk.cut_mid_line(text)
    assert 0 < len(cut) < len(text)
    with pytest.raises(json.JSONDecodeError):
        [json.loads(line) for line in cut.splitlines()]
