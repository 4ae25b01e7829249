"""Reports that wait their turn, and reports that end without data or with an error."""

from __future__ import annotations

import gzip
import json
from datetime import datetime

import pytest

from cvrtracker.simulator.faults import FATAL_REASONS
from cvrtracker.simulator.testing import ManualClock, SimClient, running_simulator
from cvrtracker.simulator.world import DayStats

from .conftest import MARKET, advance
from .test_reports import REPORTS, SNT, create, finished

DOCUMENTS = "/reports/2021-06-30/documents"


def report(client, token, report_id) -> dict:
    return client.get(f"{REPORTS}/{report_id}", token=token).json()


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def listings_report(client, token) -> str:
    spec = {"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [MARKET]}
    return client.post(REPORTS, token=token, json_body=spec).json()["reportId"]


def fault(client, **body) -> None:
    answer = client.post("/_sim/report-faults", json_body=body)
    assert answer.status == 200, answer.body


# -- the queue ------------------------------------------------------------------------------


@pytest.fixture
def slow(monkeypatch):
    """Reports that wait a minute and work ten, so a loaded machine cannot skip a stage."""
    monkeypatch.setenv("SIM_REPORT_WORK_SECONDS", "600")
    with running_simulator(report_queue_seconds=60, monotonic=ManualClock()) as sim:
        client = SimClient(sim)
        yield sim, client, client.access_token(sim.world.sellers[0].id)


def test_reports_of_one_type_run_one_at_a_time_in_creation_order(slow):
    server, client, token = slow
    ids = [create(client, token, start=f"2026-11-{d}", end=f"2026-11-{d}") for d in (10, 11, 12)]
    timings = server.sim.timings
    advance(client, seconds=timings.queue_seconds + timings.work_seconds / 2)
    assert [report(client, token, i)["processingStatus"] for i in ids] == [
        "IN_PROGRESS",
        "IN_QUEUE",
        "IN_QUEUE",
    ]
    advance(client, seconds=timings.work_seconds)
    assert [report(client, token, i)["processingStatus"] for i in ids] == [
        "DONE",
        "IN_PROGRESS",
        "IN_QUEUE",
    ]
    advance(client, seconds=2 * timings.work_seconds)
    done = [report(client, token, i) for i in ids]
    assert all(r["processingStatus"] == "DONE" for r in done)
    for before, after in zip(done, done[1:], strict=False):
        assert after["processingStartTime"] == before["processingEndTime"]


def test_other_report_types_have_their_own_queue(slow):
    server, client, token = slow
    create(client, token)
    listings = listings_report(client, token)
    timings = server.sim.timings
    advance(client, seconds=timings.queue_seconds + timings.work_seconds / 2)
    assert report(client, token, listings)["processingStatus"] == "IN_PROGRESS"


def test_cancelling_a_waiting_report_frees_its_place(client, token, server):
    first, second, third = (create(client, token) for _ in range(3))
    assert client.request("DELETE", f"{REPORTS}/{second}", token=token).status == 200
    done = [finished(client, token, i) for i in (first, second, third)]
    assert [r["processingStatus"] for r in done] == ["DONE", "CANCELLED", "DONE"]
    assert done[2]["processingStartTime"] == done[0]["processingEndTime"]


def test_a_report_in_progress_cannot_be_cancelled(client, token, server):
    report_id = create(client, token)
    advance(client, seconds=server.sim.timings.queue_seconds + 0.01)
    assert client.request("DELETE", f"{REPORTS}/{report_id}", token=token).status == 400


def test_a_stuck_report_holds_its_queue_until_cancelled(client, token, seller):
    fault(client, outcome="STUCK")
    stuck, behind = create(client, token), create(client, token)
    advance(client, hours=5)
    token = client.access_token(seller.id)  # access tokens last an hour
    assert report(client, token, behind)["processingStatus"] == "IN_QUEUE"
    assert client.request("DELETE", f"{REPORTS}/{stuck}", token=token).status == 200
    cancelled_at = moment(report(client, token, stuck)["processingEndTime"])
    done = finished(client, token, behind)
    assert done["processingStatus"] == "DONE"
    assert moment(done["processingStartTime"]) >= cancelled_at


def test_the_queue_wait_is_an_option():
    with running_simulator(report_queue_seconds=3600, monotonic=ManualClock()) as sim:
        client = SimClient(sim)
        token = client.access_token(sim.world.sellers[0].id)
        report_id = create(client, token)
        advance(client, seconds=1800)
        assert report(client, token, report_id)["processingStatus"] == "IN_QUEUE"
        advance(client, seconds=1801)
        token = client.access_token(sim.world.sellers[0].id)
        done = report(client, token, report_id)
        assert done["processingStatus"] == "DONE"
        waited = moment(done["processingStartTime"]) - moment(done["createdTime"])
        assert waited.total_seconds() == pytest.approx(3600, abs=1)


def test_a_held_queue_keeps_reports_waiting_for_hours(client, token, seller):
    answer = client.post(f"/_sim/sellers/{seller.id}/report-queue", json_body={"hours": 6})
    assert answer.status == 200
    assert answer.json()["holds"][0]["reportType"] is None
    report_id = create(client, token)
    advance(client, hours=5, seconds=59 * 60)
    token = client.access_token(seller.id)  # access tokens last an hour
    assert report(client, token, report_id)["processingStatus"] == "IN_QUEUE"
    queue = client.get(f"/_sim/sellers/{seller.id}/report-queue").json()
    assert queue["queues"][SNT] == {"inQueue": 1, "inProgress": 0}
    advance(client, seconds=120)
    done = report(client, token, report_id)
    assert done["processingStatus"] == "DONE"
    waited = moment(done["processingStartTime"]) - moment(done["createdTime"])
    assert waited.total_seconds() == pytest.approx(6 * 3600, abs=2)


def test_a_hold_of_one_type_lets_others_run_and_can_be_released(client, token, seller, server):
    client.post(
        f"/_sim/sellers/{seller.id}/report-queue", json_body={"hours": 12, "reportType": SNT}
    )
    held = create(client, token)
    listings = listings_report(client, token)
    assert finished(client, token, listings)["processingStatus"] == "DONE"
    assert report(client, token, held)["processingStatus"] == "IN_QUEUE"
    client.request("DELETE", f"/_sim/sellers/{seller.id}/report-queue")
    assert finished(client, token, held)["processingStatus"] == "DONE"


def test_a_hold_does_not_stop_a_report_already_running(client, token, seller, server):
    report_id = create(client, token)
    advance(client, seconds=server.sim.timings.queue_seconds + 0.01)
    client.post(f"/_sim/sellers/{seller.id}/report-queue", json_body={"hours": 6})
    assert finished(client, token, report_id)["processingStatus"] == "DONE"


def test_it_refuses_a_bad_hold(client, seller):
    path = f"/_sim/sellers/{seller.id}/report-queue"
    assert client.post(path, json_body={"hours": 0}).status == 400
    assert client.post("/_sim/sellers/NOBODY/report-queue", json_body={"hours": 1}).status == 404


# -- outcomes -------------------------------------------------------------------------------


def error_document(client, token, done: dict) -> dict:
    url = client.get(f"{DOCUMENTS}/{done['reportDocumentId']}", token=token).json()["url"]
    return json.loads(gzip.decompress(client.get(url).body))


def test_the_next_n_reports_end_fatal_with_a_document_that_says_why(client, token):
    fault(client, outcome="FATAL", count=2, reportType=SNT, reason="data_unavailable")
    done = [finished(client, token, create(client, token)) for _ in range(3)]
    assert [r["processingStatus"] for r in done] == ["FATAL", "FATAL", "DONE"]
    for fatal in done[:2]:
        assert error_document(client, token, fatal) == {
            "errorDetails": FATAL_REASONS["data_unavailable"]
        }
    assert client.get("/_sim/report-faults").json() == []


def test_an_unnamed_fatal_reason_is_the_same_under_the_same_seed():
    def reasons() -> list[str]:
        with running_simulator(seed=7, monotonic=ManualClock()) as sim:
            client = SimClient(sim)
            token = client.access_token(sim.world.sellers[0].id)
            fault(client, outcome="FATAL", count=4)
            done = [finished(client, token, create(client, token)) for _ in range(4)]
            return [error_document(client, token, r)["errorDetails"] for r in done]

    first = reasons()
    assert first == reasons()
    assert set(first) <= set(FATAL_REASONS.values())


def test_a_ratio_of_reports_fails_the_same_way_under_the_same_seed():
    def outcomes() -> list[str]:
        with running_simulator(seed=3, monotonic=ManualClock()) as sim:
            client = SimClient(sim)
            token = client.access_token(sim.world.sellers[0].id)
            fault(client, outcome="FATAL", ratio=0.5)
            ids = [create(client, token) for _ in range(8)]
            return [finished(client, token, i)["processingStatus"] for i in ids]

    first = outcomes()
    assert first == outcomes()
    assert set(first) == {"FATAL", "DONE"}


def test_a_report_can_end_done_without_a_document(client, token):
    fault(client, outcome="DONE_NO_DOCUMENT")
    done = finished(client, token, create(client, token))
    assert done["processingStatus"] == "DONE"
    assert "reportDocumentId" not in done


def test_a_day_without_any_activity_ends_done_without_a_document(client, token, server):
    quiet = DayStats(0, 0, 0, 0, 0, 0, 0, 0.0)
    real_day_stats = server.world.day_stats
    server.world.day_stats = lambda *args, **kwargs: quiet
    try:
        done = finished(client, token, create(client, token))
    finally:
        server.world.day_stats = real_day_stats
    assert done["processingStatus"] == "DONE"
    assert "reportDocumentId" not in done
    assert "reportDocumentId" in finished(client, token, create(client, token))


def test_a_report_can_be_cancelled_for_lack_of_data(client, token):
    fault(client, outcome="CANCELLED", reportType=SNT)
    listings = listings_report(client, token)
    cancelled = finished(client, token, create(client, token))
    assert cancelled["processingStatus"] == "CANCELLED"
    assert "reportDocumentId" not in cancelled
    assert finished(client, token, listings)["processingStatus"] == "DONE"


def test_a_document_can_disappear(client, token, seller):
    fault(client, outcome="DOCUMENT_GONE", goneAfterSeconds=3600)
    done = finished(client, token, create(client, token))
    path = f"{DOCUMENTS}/{done['reportDocumentId']}"
    url = client.get(path, token=token).json()["url"]
    assert client.get(url).status == 200
    advance(client, hours=1)
    token = client.access_token(seller.id)
    assert client.get(path, token=token).status == 404
    fresh_url_then_gone = client.get(url)
    assert fresh_url_then_gone.status in (403, 404)  # expired URL or missing key


def test_faults_can_name_one_seller():
    with running_simulator(sellers=2, monotonic=ManualClock()) as sim:
        client = SimClient(sim)
        first, second = sim.world.sellers
        fault(client, outcome="FATAL", sellerId=second.id)
        token = client.access_token(first.id)
        assert finished(client, token, create(client, token))["processingStatus"] == "DONE"
        token = client.access_token(second.id)
        report_id = create(client, token, market=second.home.id)
        assert finished(client, token, report_id)["processingStatus"] == "FATAL"


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "EXPLODED"},
        {"outcome": "FATAL", "count": 0},
        {"outcome": "FATAL", "ratio": 2},
        {"outcome": "DONE_NO_DOCUMENT", "reason": "internal_error"},
        {"outcome": "FATAL", "reason": "gremlins"},
        {"outcome": "FATAL", "colour": "red"},
    ],
)
def test_it_refuses_a_bad_report_fault(client, body):
    assert client.post("/_sim/report-faults", json_body=body).status == 400


def test_report_faults_can_be_listed_and_cleared(client):
    fault(client, outcome="FATAL", count=3)
    assert client.get("/_sim/report-faults").json()[0]["count"] == 3
    assert client.request("DELETE", "/_sim/report-faults").json() == []


def test_every_request_builds_a_new_report(client, token):
    first = finished(client, token, create(client, token))
    second = finished(client, token, create(client, token))
    assert first["reportId"] != second["reportId"]
    assert first["reportDocumentId"] != second["reportDocumentId"]
