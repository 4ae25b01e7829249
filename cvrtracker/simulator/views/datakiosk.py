"""Data Kiosk 2023-11-15: createQuery, getQueries, getQuery, cancelQuery, getDocument.

Documents are served by the reports' presigned-download view (views/reports.py).
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_http_methods

from .. import datakiosk as dk
from ..state import Simulator
from ..world import Seller
from .common import (
    bad_request,
    int_param,
    iso,
    json_response,
    list_param,
    not_found,
    parse_time,
    sign_page,
    sim_of,
    sp_operation,
    unsign_page,
)
from .reports import presigned_url

PAGE_SALT = "simulator.datakiosk.page"
STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")


def query_json(sim: Simulator, query: dk.Query) -> dict:
    status, times = query.status(
        sim.clock.now(), sim.timings.queue_seconds, sim.timings.work_seconds
    )
    body: dict = {
        "queryId": query.query_id,
        "query": query.text,
        "createdTime": iso(query.created),
        "processingStatus": status,
    }
    for name, moment in times.items():
        body[name] = iso(moment)
    if status in ("DONE", "FATAL"):
        sim.datakiosk.finish(sim.world, query)
        if query.data_document_id:
            body["dataDocumentId"] = query.data_document_id
        if query.error_document_id:
            body["errorDocumentId"] = query.error_document_id
        # Results are never split into pages here: no pagination.nextToken.
    return body


def _create(request: HttpRequest, seller: Seller) -> HttpResponse:
    sim = sim_of(request)
    try:
        body = json.loads(request.body or b"")
    except ValueError:
        return bad_request("The request body is not valid JSON.")
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return bad_request("query is required.")
    if body.get("paginationToken"):
        # We never split results, so no token of ours can exist.
        return bad_request("Invalid paginationToken.")
    markets = dk.seller_marketplaces(sim.world, seller)
    today = dk.marketplace_today(sim.world, markets[0])
    try:
        spec = dk.parse_query(
            body["query"], today=today, allowed_marketplaces={m.id for m in markets}
        )
    except dk.QueryError as error:
        return bad_request(str(error))
    fault = sim.faults.get("createQuery")
    market = next(m for m in markets if m.id == spec.marketplace_ids[0])
    query = sim.datakiosk.add(
        dk.Query(
            query_id="",
            seller_id=seller.id,
            text=body["query"],
            spec=spec,
            created=sim.clock.now(),
            as_of=dk.marketplace_today(sim.world, market),
            outcome="FATAL" if fault.report_outcome == "FATAL" else "DONE",
            stuck=fault.report_stuck,
            corrupt=sim.faults.get("getDocument").corrupt_document,
        ),
        sim.world,
    )
    return json_response({"queryId": query.query_id}, 202)


def _list(request: HttpRequest, seller: Seller) -> HttpResponse:
    sim = sim_of(request)
    page_size = int_param(request, "pageSize", 10, 100)
    if page_size is None:
        return bad_request("pageSize is between 1 and 100.")
    if request.GET.get("paginationToken"):
        state = unsign_page(request, request.GET["paginationToken"], PAGE_SALT)
        if state is None:
            return bad_request("Invalid paginationToken.")
    else:
        statuses = list_param(request, "processingStatuses")
        if any(s not in STATUSES for s in statuses):
            return bad_request("Invalid input in processingStatuses.")
        state = {
            "statuses": statuses,
            "since": request.GET.get("createdSince") or iso(sim.clock.now() - timedelta(days=90)),
            "until": request.GET.get("createdUntil") or "",
            "offset": 0,
        }
    since = parse_time(state["since"])
    until = parse_time(state["until"]) if state["until"] else None
    if since is None or (state["until"] and until is None):
        return bad_request("createdSince and createdUntil are ISO 8601 date-times.")
    matches = []
    for query in sim.datakiosk.for_seller(seller.id):
        if query.created < since or (until and query.created >= until):
            continue
        body = query_json(sim, query)
        if state["statuses"] and body["processingStatus"] not in state["statuses"]:
            continue
        matches.append(body)
    offset = state["offset"]
    result: dict = {"queries": matches[offset : offset + page_size]}
    if offset + page_size < len(matches):
        token = sign_page(request, {**state, "offset": offset + page_size}, PAGE_SALT)
        result["pagination"] = {"nextToken": token}
    return json_response(result)


create_query = sp_operation("createQuery")(_create)
get_queries = sp_operation("getQueries")(_list)


@require_http_methods(["GET", "POST"])
def queries_collection(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return create_query(request)
    return get_queries(request)


@sp_operation("getQuery")
def _get(request: HttpRequest, seller: Seller, query_id: str) -> HttpResponse:
    sim = sim_of(request)
    query = sim.datakiosk.get(query_id, seller.id)
    if query is None:
        return not_found(f"Query {query_id} not found.")
    return json_response(query_json(sim, query))


@sp_operation("cancelQuery")
def _cancel(request: HttpRequest, seller: Seller, query_id: str) -> HttpResponse:
    """Only IN_QUEUE and IN_PROGRESS queries can be cancelled; CANCELLED again is a no-op."""
    sim = sim_of(request)
    query = sim.datakiosk.get(query_id, seller.id)
    if query is None:
        return not_found(f"Query {query_id} not found.")
    now = sim.clock.now()
    status, _ = query.status(now, sim.timings.queue_seconds, sim.timings.work_seconds)
    if status in ("DONE", "FATAL"):
        return bad_request(f"Query {query_id} is {status} and can no longer be cancelled.")
    if status != "CANCELLED":
        query.cancelled_at = now
    return HttpResponse(status=204)


@require_http_methods(["GET", "DELETE"])
def query_item(request: HttpRequest, query_id: str) -> HttpResponse:
    if request.method == "DELETE":
        return _cancel(request, query_id=query_id)
    return _get(request, query_id=query_id)


@require_GET
@sp_operation("getDocument")
def get_document(request: HttpRequest, seller: Seller, document_id: str) -> HttpResponse:
    sim = sim_of(request)
    query = sim.datakiosk.by_document(document_id)
    if query is None or query.seller_id != seller.id:
        return not_found(f"Document {document_id} not found.")
    # "If the Data Kiosk document is compressed, the Content-Encoding header will
    # indicate the compression algorithm" (GetDocumentResponse.documentUrl in the model).
    url = presigned_url(request, document_id, gzip_header=True)
    return json_response({"documentId": document_id, "documentUrl": url})
