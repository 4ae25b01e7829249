"""Reports 2021-06-30 and the presigned-style document download."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_http_methods

from .. import reports as rp
from ..reports import Report
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

DOCUMENT_URL_LIFETIME = timedelta(minutes=5)
PAGE_SALT = "simulator.reports.page"


def report_json(sim: Simulator, report: Report) -> dict:
    status, times = report.status(sim.clock.now())
    body: dict = {
        "reportId": report.report_id,
        "reportType": report.report_type,
        "marketplaceIds": report.marketplace_ids,
        "createdTime": iso(report.created),
        "processingStatus": status,
    }
    if report.data_start:
        body["dataStartTime"] = iso(report.data_start)
    if report.data_end:
        body["dataEndTime"] = iso(report.data_end)
    for name, moment in times.items():
        body[name] = iso(moment)
    # A DONE report with nothing to report has no document ("present if there is report
    # data available"); a FATAL one "might" have one that explains why (reports model).
    if status in ("DONE", "FATAL") and report.document_id:
        body["reportDocumentId"] = report.document_id
    return body


def _report_type(request: HttpRequest) -> str | None:
    """The reportType a createReport body asks for, so its own budget can be charged."""
    try:
        spec = json.loads(request.body or b"")
    except ValueError:
        return None
    kind = spec.get("reportType") if isinstance(spec, dict) else None
    return kind if isinstance(kind, str) else None


def _settle_outcome(sim: Simulator, seller: Seller, report: Report) -> None:
    """Decide how a new report ends: forced by a fault, or DONE without data to report."""
    legacy = sim.faults.get("createReport")
    if legacy.report_outcome:
        report.outcome = legacy.report_outcome
    report.stuck = legacy.report_stuck
    report.corrupt = sim.faults.get("getReportDocument").corrupt_document
    market = seller.marketplace(report.marketplace_ids[0]) or seller.home
    if report.outcome == "FATAL":
        report.error_details = "Report processing failed."
    forced = sim.report_faults.take(seller.id, report.report_type)
    if forced is not None:
        fault, reason = forced
        if fault.outcome == "FATAL":
            report.outcome, report.error_details = "FATAL", reason
        elif fault.outcome == "CANCELLED":
            # Amazon's "automatic cancellation if there is no data to return" (model).
            report.outcome = "CANCELLED"
        elif fault.outcome == "DONE_NO_DOCUMENT":
            report.outcome, report.no_document = "DONE", True
        elif fault.outcome == "DOCUMENT_GONE":
            report.outcome, report.document_gone_after = "DONE", fault.gone_after_seconds
        elif fault.outcome == "STUCK":
            report.stuck = True
    if (
        report.outcome == "DONE"
        and report.report_type == rp.SALES_AND_TRAFFIC
        and report.data_start is not None
        and report.data_end is not None
        and not rp.had_activity(
            sim.world,
            seller,
            report.data_start.date(),
            min(report.data_end.date(), sim.world.today(market) - timedelta(days=1)),
            market,
        )
    ):
        # No session and no unit in the whole range: nothing to report, so no document.
        report.no_document = True


def _sales_and_traffic_refusal(seller: Seller, markets: list[str]) -> str:
    """Amazon's InvalidInput message when S&T cannot be asked for these marketplaces, or ""."""
    if len(markets) > 1:
        # Amazon's words (docs#614).
        return (
            "Report rejected for this client. Multiple marketplaces were provided for this "
            "report type that can only be applied to one marketplace at a time. Please retry "
            "with only one marketplace per request."
        )
    market = seller.marketplace(markets[0])
    if market is not None and not market.sales_and_traffic:
        return "Some of the marketplaces are not allowed for this Report"  # models#4718 (IE)
    return ""


def _create(request: HttpRequest, seller: Seller) -> HttpResponse:
    sim = sim_of(request)
    try:
        spec = json.loads(request.body or b"")
    except ValueError:
        return bad_request("The request body is not valid JSON.")
    if not isinstance(spec, dict) or not spec.get("reportType") or not spec.get("marketplaceIds"):
        return bad_request("reportType and marketplaceIds are required.")
    if spec["reportType"] not in rp.SUPPORTED_TYPES:
        return bad_request(f"Report type {spec['reportType']} is not supported.")
    markets = spec["marketplaceIds"]
    if not isinstance(markets, list) or not 1 <= len(markets) <= 25:
        return bad_request("marketplaceIds takes 1 to 25 marketplace ids.")
    if any(not isinstance(m, str) or seller.marketplace(m) is None for m in markets):
        return bad_request("The seller does not sell in the requested marketplaces.")
    if spec["reportType"] == rp.SALES_AND_TRAFFIC:
        refused = _sales_and_traffic_refusal(seller, markets)
        if refused:
            return bad_request(refused)
    options = spec.get("reportOptions") or {}
    if not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values()):
        return bad_request("reportOptions maps names to strings.")
    now = sim.clock.now()
    start = parse_time(spec["dataStartTime"]) if spec.get("dataStartTime") else None
    end = parse_time(spec["dataEndTime"]) if spec.get("dataEndTime") else None
    if (spec.get("dataStartTime") and start is None) or (spec.get("dataEndTime") and end is None):
        return bad_request("dataStartTime and dataEndTime are ISO 8601 date-times.")
    outcome = "DONE"
    if spec["reportType"] == rp.SALES_AND_TRAFFIC:
        if options.get("dateGranularity", "DAY") not in rp.DATE_GRANULARITIES:
            return bad_request("dateGranularity is DAY, WEEK or MONTH.")
        if options.get("asinGranularity", "PARENT") not in rp.ASIN_GRANULARITIES:
            return bad_request("asinGranularity is PARENT, CHILD or SKU.")
        # Days are the marketplace's local days and the time part is ignored (report schema,
        # sp-api-semantics.md §1): the literal dates of the request are the report's days.
        today = sim.world.today(seller.marketplace(markets[0]))
        start = start or rp.day_instant(today - timedelta(days=1))
        end = end or rp.day_instant(today)
        if end.date() < start.date():
            return bad_request("dataEndTime is before dataStartTime.")
        # Too old, or nothing complete yet to report: Amazon cancels rather than fails.
        if rp.is_too_old(start.date(), today) or start.date() >= today:
            outcome = "CANCELLED"
    # Every request builds a new report, as at Amazon (no deduplication is documented).
    report = Report(
        report_id="",
        seller_id=seller.id,
        report_type=spec["reportType"],
        marketplace_ids=markets,
        created=now,
        data_start=start,
        data_end=end,
        options=dict(options),
        outcome=outcome,
    )
    _settle_outcome(sim, seller, report)
    sim.reports.add(report)
    return json_response({"reportId": report.report_id}, 202)


def _list(request: HttpRequest, seller: Seller) -> HttpResponse:
    sim = sim_of(request)
    page_size = int_param(request, "pageSize", 10, 100)
    if page_size is None:
        return bad_request("pageSize is between 1 and 100.")
    if request.GET.get("nextToken"):
        query = unsign_page(request, request.GET["nextToken"], PAGE_SALT)
        if query is None:
            return bad_request("Invalid nextToken.")
    else:
        statuses = list_param(request, "processingStatuses")
        allowed = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
        if any(s not in allowed for s in statuses):
            return bad_request("Invalid input in processing status")
        types = list_param(request, "reportTypes")
        if not types or len(types) > 10:
            return bad_request("reportTypes takes 1 to 10 report types.")
        since = request.GET.get("createdSince")
        query = {
            "types": types,
            "statuses": statuses,
            "since": since or iso(sim.clock.now() - timedelta(days=90)),
            "until": request.GET.get("createdUntil") or "",
            "offset": 0,
        }
    since = parse_time(query["since"])
    until = parse_time(query["until"]) if query["until"] else None
    if since is None:
        return bad_request("createdSince is an ISO 8601 date-time.")
    matches = []
    for report in sim.reports.for_seller(seller.id):
        if report.report_type not in query["types"] or report.created < since:
            continue
        if until and report.created >= until:
            continue
        body = report_json(sim, report)
        if query["statuses"] and body["processingStatus"] not in query["statuses"]:
            continue
        matches.append(body)
    offset = query["offset"]
    result: dict = {"reports": matches[offset : offset + page_size]}
    if offset + page_size < len(matches):
        result["nextToken"] = sign_page(request, {**query, "offset": offset + page_size}, PAGE_SALT)
    return json_response(result)


@require_http_methods(["GET", "POST"])
def reports_collection(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return create_report(request)
    return get_reports(request)


create_report = sp_operation("createReport", report_type=_report_type)(_create)
get_reports = sp_operation("getReports")(_list)


@sp_operation("getReport")
def _get(request: HttpRequest, seller: Seller, report_id: str) -> HttpResponse:
    sim = sim_of(request)
    report = sim.reports.get(report_id, seller.id)
    if report is None:
        return not_found(f"Report {report_id} not found.")
    return json_response(report_json(sim, report))


@sp_operation("cancelReport")
def _cancel(request: HttpRequest, seller: Seller, report_id: str) -> HttpResponse:
    sim = sim_of(request)
    report = sim.reports.get(report_id, seller.id)
    if report is None:
        return not_found(f"Report {report_id} not found.")
    # IN_PROGRESS cannot be cancelled (model); cancelling IN_QUEUE frees the queue.
    status = sim.reports.cancel(report, sim.clock.now())
    if status is not None:
        return bad_request(f"Report {report_id} is {status} and can only be cancelled IN_QUEUE.")
    return HttpResponse(status=200)


@require_http_methods(["GET", "DELETE"])
def report_item(request: HttpRequest, report_id: str) -> HttpResponse:
    if request.method == "DELETE":
        return _cancel(request, report_id=report_id)
    return _get(request, report_id=report_id)


def _signature(sim: Simulator, document_id: str, expires: int) -> str:
    return hmac.new(sim.secret, f"{document_id}|{expires}".encode(), hashlib.sha256).hexdigest()


def presigned_url(request: HttpRequest, document_id: str, *, gzip_header: bool) -> str:
    """An S3-style presigned URL of a stored document: HMAC-signed, dead after 5 minutes.

    Shared by Reports and Data Kiosk documents; `gzip_header` asks the download to say
    Content-Encoding: gzip (S3's response-content-encoding override).
    """
    sim = sim_of(request)
    expires = int((sim.clock.now() + DOCUMENT_URL_LIFETIME).timestamp())
    signature = _signature(sim, document_id, expires)
    url = (
        f"{sim.base_url}/_documents/{document_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Expires=300&Expires={expires}&X-Amz-Signature={signature}"
    )
    if gzip_header:
        url += "&response-content-encoding=gzip"
    return url


@require_GET
@sp_operation("getReportDocument")
def get_report_document(request: HttpRequest, seller: Seller, document_id: str) -> HttpResponse:
    sim = sim_of(request)
    report = sim.reports.by_document(document_id)
    if report is None or report.seller_id != seller.id or report.document_gone(sim.clock.now()):
        return not_found(f"Report document {document_id} not found.")
    url = presigned_url(
        request,
        document_id,
        gzip_header=request.GET.get("enableContentEncodingUrlHeader") == "true",
    )
    return json_response(
        {"reportDocumentId": document_id, "url": url, "compressionAlgorithm": "GZIP"}
    )


def _s3_error(code: str, message: str, status: int) -> HttpResponse:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    response = HttpResponse(xml, status=status, content_type="application/xml")
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def document_bytes(sim: Simulator, report: Report) -> bytes:
    """The gzip'd document, built once from the data as it stood when the report was asked for."""
    if report.document is None:
        seller = sim.world.seller(report.seller_id)
        assert seller is not None  # noqa: S101 - reports only exist for known sellers
        # The first of the report's marketplaces: a document covers one (docs#1614, #614).
        market = seller.marketplace(report.marketplace_ids[0]) or seller.home
        if report.outcome == "FATAL":
            details = report.error_details or "Report processing failed."
            report.document = gzip.compress(json.dumps({"errorDetails": details}).encode(), mtime=0)
        elif report.report_type == rp.SALES_AND_TRAFFIC:
            start = report.data_start or report.created
            end = report.data_end or report.created
            report.document = rp.build_sales_and_traffic(
                sim.world,
                seller,
                start=start.date(),
                end=end.date(),
                date_granularity=report.options.get("dateGranularity", "DAY"),
                asin_granularity=report.options.get("asinGranularity", "PARENT"),
                as_of=market.day_of(report.created),
                marketplace=market,
            )
        else:
            report.document = rp.build_merchant_listings(
                sim.world, seller, as_of=report.created, base_url=sim.base_url, marketplace=market
            )
        if report.corrupt:
            report.document = report.document[: len(report.document) // 2]
    return report.document


@require_GET
def download_document(request: HttpRequest, document_id: str) -> HttpResponse:
    """The presigned-style URL: no SP-API token, an HMAC signature and a 5-minute expiry."""
    sim = sim_of(request)
    try:
        expires = int(request.GET.get("Expires", ""))
    except ValueError:
        return _s3_error("AccessDenied", "Query-string authentication requires parameters", 403)
    given = request.GET.get("X-Amz-Signature", "")
    if not hmac.compare_digest(given, _signature(sim, document_id, expires)):
        return _s3_error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
            403,
        )
    if sim.clock.now() > datetime.fromtimestamp(expires, tz=UTC):
        return _s3_error("AccessDenied", "Request has expired", 403)
    stored = _stored_document(sim, document_id)
    if stored is None:
        return _s3_error("NoSuchKey", "The specified key does not exist.", 404)
    payload, content_type = stored
    response = HttpResponse(payload, content_type=content_type)
    if request.GET.get("response-content-encoding") == "gzip":
        response["Content-Encoding"] = "gzip"
    return response


def _stored_document(sim: Simulator, document_id: str) -> tuple[bytes, str] | None:
    """The gzip'd bytes and content type of a report or Data Kiosk document."""
    report = sim.reports.by_document(document_id)
    if report is not None:
        if report.document_gone(sim.clock.now()):
            return None
        with sim.reports.build_lock:
            payload = document_bytes(sim, report)
        content_type = (
            "text/tab-separated-values; charset=UTF-8"
            if report.report_type == rp.MERCHANT_LISTINGS
            else "application/json"
        )
        return payload, content_type
    data = sim.datakiosk.document(document_id)
    if data is not None:
        return data, "application/x-ndjson"
    return None
