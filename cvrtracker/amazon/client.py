"""The one module that talks to Amazon: Login with Amazon and the Selling Partner API.

Base URLs come from settings, so the same code talks to Amazon or to the local
simulator. Every connection uses TLS 1.2 or newer; the simulator's CA is
trusted only when AMAZON_CA_FILE names it. Every failure is an `AmazonError`
whose `permanent` flag tells the caller whether trying later can help.
Secrets (client secret, tokens, codes) never reach logs or error messages.
"""

from __future__ import annotations

import gzip
import logging
import platform
import ssl
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
from django.conf import settings
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from cvrtracker.amazon.ratelimit import limiter_for
from cvrtracker.lib.tls import http_client

logger = logging.getLogger(__name__)

USER_AGENT = f"CVRTracker/0.1 (Language=Python/{platform.python_version()})"
CONSENT_PATH = "/apps/authorize/consent"
# searchOrders' includedData: status, items and amounts; BUYER and RECIPIENT never.
ORDER_DATA = ("PROCEEDS", "FULFILLMENT")
# How long one call may wait for its own client-side bucket before giving up for now.
QUOTA_WAIT_SECONDS = 300.0


class AmazonError(Exception):
    """Anything that went wrong talking to Amazon.

    `permanent` errors will not heal by retrying (a revoked grant, a refused
    request); the others (throttling, 5xx, timeouts) are retried with backoff.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        code: str = "",
        detail: str = "",
    ):
        super().__init__(message)
        self.permanent = permanent
        self.status = status
        self.code = code
        # Amazon's message for a refused request, to tell refusals apart; never
        # logged or shown (kept out of str()), as it may quote the request.
        self.detail = detail


class RevokedAuthorization(AmazonError):
    """LWA answered invalid_grant to a refresh: the seller revoked us, or the grant expired."""

    def __init__(self, message: str = "The seller's authorization is revoked or expired"):
        super().__init__(message, permanent=True, status=400, code="invalid_grant")


class ClientCredentialsRefused(AmazonError):
    """LWA answered invalid_client to every configured client secret.

    The operator's problem, not the seller's: the app's secret expired or was
    rotated without updating LWA_CLIENT_SECRET. Nothing the seller does helps,
    and every seller account is affected alike.
    """

    def __init__(self) -> None:
        super().__init__(
            "Login with Amazon refused every configured client secret (invalid_client)",
            permanent=True,
            status=401,
            code="invalid_client",
        )


class ConnectionStopped(AmazonError):
    """Calls for this seller connection stopped for good (a disconnect, or a revocation
    seen by another worker): the request was not sent. Not a failure to retry or to
    tell the seller about: the job that met it just ends."""

    def __init__(self) -> None:
        super().__init__(
            "Calls to Amazon stopped for this seller account", permanent=True, code="Stopped"
        )


class QuotaWait(AmazonError):
    """Our own bucket for the operation has no token soon enough: come back later.

    Permanent for the retry loop (waiting in place is what the caller declined),
    not for the job, which reschedules itself.
    """

    def __init__(self, operation: str, retry_after: float = 1.0):
        super().__init__(f"{operation}: quota exhausted for now", permanent=True, code="QuotaWait")
        self.operation = operation
        self.retry_after = retry_after


class CorruptDocument(AmazonError):
    """A report document that does not gunzip: asking for the same one again will not help."""

    def __init__(self, message: str = "The report document is damaged"):
        super().__init__(message, permanent=True, code="CorruptDocument")


class StalePaginationToken(AmazonError):
    """searchOrders refused a paginationToken: expired (24 h) or not matching its parameters.

    The window must start again from its first page; the token will never work.
    """

    def __init__(self) -> None:
        super().__init__(
            "searchOrders: Amazon refused the paginationToken",
            permanent=True,
            status=400,
            code="InvalidInput",
        )


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int
    refresh_token: str | None = None

    def __repr__(self) -> str:  # keep tokens out of tracebacks and logs
        return f"<TokenGrant expires_in={self.expires_in}>"


# Transport ------------------------------------------------------------------------


@cache
def _http(ca_file: str, timeout: float) -> httpx.Client:
    # One pooled client per configuration; httpx.Client is safe to share across threads.
    return http_client(
        ca_file=ca_file,
        timeout=timeout,
        connect_timeout=10.0,
        headers={"user-agent": USER_AGENT},
    )


def http() -> httpx.Client:
    return _http(settings.AMAZON_CA_FILE, settings.AMAZON_HTTP_TIMEOUT_SECONDS)


def _transient(error: BaseException) -> bool:
    return isinstance(error, AmazonError) and not error.permanent


def _transient_not_throttled(error: BaseException) -> bool:
    return _transient(error) and getattr(error, "status", None) != 429


def retrying(*, throttled: bool = True) -> Retrying:
    """Exponential backoff with jitter on transient errors (429, 5xx, timeouts).

    `throttled=False` leaves a 429 to the caller: a budget counted per day (Sales &
    Traffic's 96) is not refilled in seconds, and each retry would spend more of it.
    """
    initial = settings.AMAZON_RETRY_INITIAL_SECONDS
    return Retrying(
        retry=retry_if_exception(_transient if throttled else _transient_not_throttled),
        stop=stop_after_attempt(settings.AMAZON_RETRY_ATTEMPTS),
        wait=wait_exponential_jitter(
            multiplier=initial, max=settings.AMAZON_RETRY_MAX_SECONDS, jitter=initial
        ),
        reraise=True,
        # One line per retry: an operator sees throttling, 5xx and timeouts as they happen.
        before_sleep=before_sleep_log(logger, logging.WARNING),
    )


def _send(method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return http().request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise AmazonError("Amazon did not answer in time", permanent=False) from None
    except httpx.TransportError as error:
        # A certificate we do not trust is a configuration error, not bad weather.
        permanent = isinstance(error.__cause__, ssl.SSLError) or "CERTIFICATE" in str(error)
        raise AmazonError(
            f"Could not reach Amazon ({type(error).__name__})", permanent=permanent
        ) from None


# Login with Amazon ------------------------------------------------------------------


def consent_url(*, region: str, state: str) -> str:
    """Seller Central's consent page for our app, for a seller of `region`."""
    params = {
        "application_id": settings.AMAZON_APPLICATION_ID,
        "state": state,
        "redirect_uri": settings.AMAZON_REDIRECT_URI,
    }
    if settings.AMAZON_APP_IS_DRAFT:
        params["version"] = "beta"
    base = settings.AMAZON_CONSENT_URLS[region].rstrip("/") + CONSENT_PATH
    return str(httpx.URL(base, params=params))


# The client secret LWA last accepted, per process: tried first next time. A
# process that switched during a rotation keeps the working one until it restarts.
_working_secret: dict[str, str] = {}


def _client_secrets() -> list[str]:
    """The configured client secrets, the one that last worked first.

    LWA_CLIENT_SECRET is the current secret and LWA_CLIENT_SECRET_PREVIOUS the one
    it replaced, still valid at Amazon until it is expired after a rotation.
    """
    configured = [settings.LWA_CLIENT_SECRET, settings.LWA_CLIENT_SECRET_PREVIOUS]
    candidates = list(dict.fromkeys(s for s in configured if s))
    working = _working_secret.get("secret")
    if working in candidates:
        candidates.remove(working)
        candidates.insert(0, working)
    return candidates


def _lwa(form: dict[str, str], *, refresh: bool) -> TokenGrant:
    """One token request; with each configured client secret while LWA says invalid_client.

    Amazon requires rotating the client secret every 180 days, and every call fails
    once the old one expires ("Rotate your Application's LWA Credentials"): the
    other configured secret is tried once, and the one that works is kept.
    ClientCredentialsRefused when LWA refuses them all.
    """
    candidates = _client_secrets()
    for secret in candidates:
        response = _lwa_post(form, secret)
        if _lwa_error(response) == "invalid_client":
            logger.warning("LWA refused one of the configured client secrets (invalid_client)")
            continue
        if response.status_code == 200 and _working_secret.get("secret") != secret:
            _working_secret["secret"] = secret
            if secret != candidates[0]:
                logger.warning("LWA accepted the other configured client secret; using it now")
        return _lwa_answer(response, refresh=refresh)
    raise ClientCredentialsRefused()


def _lwa_post(form: dict[str, str], secret: str) -> httpx.Response:
    body = {**form, "client_id": settings.LWA_CLIENT_ID, "client_secret": secret}
    headers = {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}
    return _send("POST", settings.AMAZON_LWA_TOKEN_URL, data=body, headers=headers)


def _lwa_error(response: httpx.Response) -> str:
    if response.status_code == 200:
        return ""
    try:
        return str(response.json().get("error", ""))
    except (ValueError, AttributeError):
        return ""


def _lwa_answer(response: httpx.Response, *, refresh: bool) -> TokenGrant:
    if response.status_code == 200:
        data = response.json()
        return TokenGrant(
            access_token=data["access_token"],
            expires_in=int(data.get("expires_in", 3600)),
            refresh_token=data.get("refresh_token"),
        )
    error = _lwa_error(response)
    logger.warning("LWA token request refused: HTTP %s %s", response.status_code, error)
    if error == "invalid_grant" and refresh:
        raise RevokedAuthorization()
    if response.status_code >= 500 or response.status_code == 429:
        raise AmazonError(
            "Login with Amazon is unavailable", permanent=False, status=response.status_code
        )
    raise AmazonError(
        f"Login with Amazon refused the request ({error or response.status_code})",
        permanent=True,
        status=response.status_code,
        code=error,
    )


def lwa_exchange_code(*, code: str) -> TokenGrant:
    """Trade a consent page's spapi_oauth_code (valid 5 minutes) for tokens.

    Not retried: a code works once, so a lost answer cannot be asked again.
    """
    return _lwa(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": settings.AMAZON_REDIRECT_URI,
        },
        refresh=False,
    )


def lwa_refresh(*, refresh_token: str) -> TokenGrant:
    """A new access token; RevokedAuthorization when the grant is gone."""
    return retrying()(
        _lwa, {"grant_type": "refresh_token", "refresh_token": refresh_token}, refresh=True
    )


# Selling Partner API -------------------------------------------------------------------


def _error_code(response: httpx.Response) -> str:
    """The first error's code; its message and details may quote the seller's data."""
    return _first_error(response, "code")


def _first_error(response: httpx.Response, field: str) -> str:
    try:
        errors = response.json().get("errors") or [{}]
        return str(errors[0].get(field, ""))[:300]
    except (ValueError, AttributeError):
        return ""


class SpApiClient:
    """Calls for one seller connection: rate-limited, retried, token refreshed on expiry.

    `access_token(force)` returns a valid access token, fetching a new one when
    `force` is true (after Amazon refused the previous one). `check()`, when given,
    runs before every request (retries and document downloads included) and raises
    ConnectionStopped once the connection stopped, so that a disconnect seen by
    another process stops this one before its next request.
    """

    def __init__(
        self,
        *,
        region: str,
        rate_key: str,
        access_token: Callable[[bool], str],
        check: Callable[[], None] | None = None,
    ):
        self.base_url = settings.AMAZON_SPAPI_URLS[region].rstrip("/")
        self.rate_key = rate_key
        self._access_token = access_token
        self._check = check or (lambda: None)

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        quota_wait: float = QUOTA_WAIT_SECONDS,
        retry_throttled: bool = True,
    ) -> Any:
        """The decoded JSON body of a successful call; AmazonError otherwise.

        `quota_wait` bounds the wait for our own bucket: a job that would rather
        come back later than hold a worker passes a small value and gets
        QuotaWait (not retried here) when no token comes in time.
        `retry_throttled=False`: a 429 is raised at once, not retried here.
        """
        return retrying(throttled=retry_throttled)(
            self._call_once, operation, method, path, params, json_body, quota_wait
        )

    def _call_once(
        self,
        operation: str,
        method: str,
        path: str,
        params: Any,
        json_body: Any,
        quota_wait: float = QUOTA_WAIT_SECONDS,
    ) -> Any:
        limiter = limiter_for(self.rate_key, operation)
        try:
            limiter.acquire(timeout=quota_wait)
        except TimeoutError as error:
            raise QuotaWait(operation, getattr(error, "wait_seconds", 1.0)) from None
        response = self._send(method, path, params, json_body, force=False)
        if response.status_code in (401, 403):
            # The access token may have expired or died early: one fresh token, then
            # the same request again (it was refused, so nothing was done twice).
            limiter.acquire(timeout=QUOTA_WAIT_SECONDS)
            response = self._send(method, path, params, json_body, force=True)
        limiter.observe(response.headers.get("x-amzn-RateLimit-Limit"))
        status = response.status_code
        logger.info("SP-API %s -> %s", operation, status)
        if status < 300:
            return response.json() if response.content else None
        code = _error_code(response)
        if status == 429 or status >= 500:
            raise AmazonError(
                f"{operation}: Amazon answered {status}", permanent=False, status=status, code=code
            )
        raise AmazonError(
            f"{operation}: Amazon refused the request ({status} {code})",
            permanent=True,
            status=status,
            code=code,
            detail=_first_error(response, "message"),
        )

    def _send(
        self, method: str, path: str, params: Any, json_body: Any, *, force: bool
    ) -> httpx.Response:
        # Right before the request, after any wait for a quota token.
        self._check()
        headers = {"x-amz-access-token": self._access_token(force)}
        return _send(method, self.base_url + path, params=params, json=json_body, headers=headers)

    # Operations ---------------------------------------------------------------------

    def get_marketplace_participations(self) -> list[dict]:
        """[{marketplace{id,name,countryCode,...}, participation{...}, storeName}, ...]"""
        body = self.call(
            "getMarketplaceParticipations", "GET", "/sellers/v1/marketplaceParticipations"
        )
        return list(body.get("payload") or [])

    def create_report(
        self,
        *,
        report_type: str,
        marketplace_ids: list[str],
        start: str | None = None,
        end: str | None = None,
        options: dict[str, str] | None = None,
        quota_wait: float = QUOTA_WAIT_SECONDS,
        retry_throttled: bool = True,
    ) -> str:
        """createReport: the new report's id (Amazon answers 202 and works on it)."""
        body: dict[str, Any] = {"reportType": report_type, "marketplaceIds": marketplace_ids}
        if start:
            body["dataStartTime"] = start
        if end:
            body["dataEndTime"] = end
        if options:
            body["reportOptions"] = options
        answer = self.call(
            "createReport",
            "POST",
            "/reports/2021-06-30/reports",
            json_body=body,
            quota_wait=quota_wait,
            retry_throttled=retry_throttled,
        )
        return str(answer["reportId"])

    def get_report(self, report_id: str) -> dict:
        """getReport: the Report object (no payload wrapper): processingStatus, reportDocumentId."""
        return self.call("getReport", "GET", f"/reports/2021-06-30/reports/{report_id}")

    def cancel_report(self, report_id: str) -> None:
        """cancelReport: only works while IN_QUEUE; Amazon refuses it afterwards."""
        self.call("cancelReport", "DELETE", f"/reports/2021-06-30/reports/{report_id}")

    def get_report_document(
        self, document_id: str, *, quota_wait: float = QUOTA_WAIT_SECONDS
    ) -> bytes:
        """getReportDocument, then the download: the document's bytes, gunzipped.

        The presigned URL dies after five minutes and must be fetched WITHOUT the
        SP-API token (it is S3's, not Amazon's API), so it is used at once.
        """
        meta = self.call(
            "getReportDocument",
            "GET",
            f"/reports/2021-06-30/documents/{document_id}",
            quota_wait=quota_wait,
        )
        self._check()
        return retrying()(download_document, meta["url"], meta.get("compressionAlgorithm"))

    # Data Kiosk 2023-11-15 --------------------------------------------------------------

    def create_query(self, query: str, *, quota_wait: float = QUOTA_WAIT_SECONDS) -> str:
        """createQuery: the new query's id (Amazon answers 202 and works on it)."""
        answer = self.call(
            "createQuery",
            "POST",
            "/dataKiosk/2023-11-15/queries",
            json_body={"query": query},
            quota_wait=quota_wait,
        )
        return str(answer["queryId"])

    def get_query(self, query_id: str) -> dict:
        """getQuery: the Query object: processingStatus, dataDocumentId or errorDocumentId."""
        return self.call("getQuery", "GET", f"/dataKiosk/2023-11-15/queries/{query_id}")

    def get_query_document(
        self, document_id: str, *, quota_wait: float = QUOTA_WAIT_SECONDS
    ) -> bytes:
        """getDocument, then the download: the document's bytes, decompressed.

        The model: "If the Data Kiosk document is compressed, the Content-Encoding
        header will indicate the compression algorithm"; httpx undoes that encoding.
        """
        meta = self.call(
            "getDocument",
            "GET",
            f"/dataKiosk/2023-11-15/documents/{document_id}",
            quota_wait=quota_wait,
        )
        self._check()
        try:
            data = retrying()(download_document, meta["documentUrl"], None)
        except httpx.DecodingError:
            raise CorruptDocument("The Data Kiosk document is damaged (bad gzip)") from None
        if data[:2] == b"\x1f\x8b":  # gzip without the header that says so
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error):
                raise CorruptDocument() from None
        return data

    def search_listings_items(
        self,
        *,
        seller_id: str,
        marketplace_id: str,
        included_data: list[str],
        page_token: str | None = None,
        page_size: int = 20,
        skus: list[str] | None = None,
    ) -> dict:
        """searchListingsItems: one page {numberOfResults, items, pagination{nextToken}}.

        Amazon pages through at most 1,000 SKUs of a search (the model's
        ItemSearchResults), so a whole catalogue is never read this way: `skus`
        (at most 20, the model's maxItems) reads given listings by identifier.
        """
        params: dict[str, Any] = {
            "marketplaceIds": marketplace_id,
            "includedData": ",".join(included_data),
            "pageSize": min(page_size, 20),  # Amazon's maximum
            "sortBy": "sku",
            "sortOrder": "ASC",
        }
        if skus:
            if len(skus) > 20:
                raise ValueError("searchListingsItems takes at most 20 identifiers")
            params["identifiers"] = ",".join(skus)
            params["identifiersType"] = "SKU"
        if page_token:
            params["pageToken"] = page_token
        return self.call(
            "searchListingsItems", "GET", f"/listings/2021-08-01/items/{seller_id}", params=params
        )

    def search_catalog_items(
        self, *, marketplace_id: str, asins: list[str], included_data: list[str]
    ) -> list[dict]:
        """searchCatalogItems by ASIN: the items found (at most 20 identifiers a call)."""
        if len(asins) > 20:
            raise ValueError("searchCatalogItems takes at most 20 identifiers")
        body = self.call(
            "searchCatalogItems",
            "GET",
            "/catalog/2022-04-01/items",
            params={
                "marketplaceIds": marketplace_id,
                "identifiers": ",".join(asins),
                "identifiersType": "ASIN",
                "includedData": ",".join(included_data),
                "pageSize": 20,
            },
        )
        return list(body.get("items") or [])

    def get_inventory_summaries(
        self, *, marketplace_id: str, next_token: str | None = None
    ) -> dict:
        """getInventorySummaries with details: {payload{inventorySummaries}, pagination}."""
        params: dict[str, Any] = {
            "granularityType": "Marketplace",
            "granularityId": marketplace_id,
            "marketplaceIds": marketplace_id,
            "details": "true",
        }
        if next_token:
            params["nextToken"] = next_token
        return self.call(
            "getInventorySummaries", "GET", "/fba/inventory/v1/summaries", params=params
        )

    def search_orders(
        self,
        *,
        params: dict[str, Any],
        pagination_token: str | None = None,
        quota_wait: float = QUOTA_WAIT_SECONDS,
    ) -> dict:
        """searchOrders (Orders 2026-01-01): {orders, pagination{nextToken}, lastUpdatedBefore}.

        `params` are the first page's parameters (see `search_orders_params`), sent
        again with every `pagination_token`: Amazon wants "all other parameters ...
        with the same values" with a token (the model's Pagination) and refuses a
        token sent alone (models#5144). StalePaginationToken when Amazon refuses the
        token (expired after 24 h, or the parameters differ): restart the window.
        """
        query = dict(params)
        if pagination_token:
            query["paginationToken"] = pagination_token
        try:
            return self.call(
                "searchOrders",
                "GET",
                "/orders/2026-01-01/orders",
                params=query,
                quota_wait=quota_wait,
            )
        except AmazonError as error:
            if pagination_token and error.status == 400 and error.code == "InvalidInput":
                raise StalePaginationToken() from None
            raise


def search_orders_params(
    *,
    marketplace_ids: list[str],
    last_updated_after: str | None = None,
    created_after: str | None = None,
) -> dict[str, Any]:
    """The parameters of a searchOrders window, to keep and resend with each page's token.

    Exactly one of `last_updated_after` and `created_after`. includedData is an
    allow-list: never BUYER or RECIPIENT (no names or addresses, ever).
    """
    if bool(last_updated_after) == bool(created_after):
        raise ValueError("exactly one of last_updated_after and created_after")
    params: dict[str, Any] = {
        "marketplaceIds": ",".join(marketplace_ids),
        "maxResultsPerPage": 100,
        "includedData": ",".join(ORDER_DATA),
    }
    if last_updated_after:
        params["lastUpdatedAfter"] = last_updated_after
    else:
        params["createdAfter"] = created_after
    return params


def download_document(url: str, compression: str | None) -> bytes:
    """The bytes behind a presigned document URL, gunzipped when Amazon says GZIP."""
    response = _send("GET", url)
    if response.status_code >= 500:
        raise AmazonError(
            "The report download failed", permanent=False, status=response.status_code
        )
    if response.status_code != 200:
        # An expired or refused URL: a new getReportDocument gives a fresh one.
        raise AmazonError(
            "The report download was refused", permanent=True, status=response.status_code
        )
    data = response.content
    if compression == "GZIP" and data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            raise CorruptDocument() from None
    elif compression == "GZIP" and response.headers.get("content-encoding") != "gzip":
        raise CorruptDocument("The report document is not gzip as announced")
    return data
