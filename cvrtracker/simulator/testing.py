"""Helpers for tests of any app: a running simulator and a tiny client for it.

    from cvrtracker.simulator.testing import running_simulator, SimClient

    with running_simulator(asins=20) as sim:
        client = SimClient(sim)
        token = client.access_token(sim.world.sellers[0].id)
        client.get("/sellers/v1/marketplaceParticipations", token=token).json()

`simulator` is also a pytest fixture (import it into a conftest.py).
"""

from __future__ import annotations

import json
import ssl
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from .contract import operation_for, validate_response
from .lwa import AppRegistration
from .server import SimulatorServer

# Tests run on a fixed calendar so that numbers and dates never depend on the run day.
TEST_TODAY = date(2026, 11, 29)
_CA_DIR = Path(tempfile.gettempdir()) / "cvrtracker-sim-test-ca"


@contextmanager
def running_simulator(
    *,
    seed: int = 1,
    asins: int = 20,
    sellers: int = 1,
    marketplaces: int | None = None,
    cvr_noise: float | None = None,
    change_rate: float | None = None,
    quota: str = "relaxed",
    today: date | None = TEST_TODAY,
    start_days_ago: int = 0,
    plain_http: bool = False,
    grants_file: Path | None = None,
    st_budget: bool | None = None,
    st_other_apps_per_day: int | None = None,
    st_scope: str | None = None,
    report_queue_seconds: float | None = None,
    monotonic: Callable[[], float] | None = None,
) -> Iterator[SimulatorServer]:
    """A simulator on a free loopback port for the duration of the block.

    The Sales & Traffic budget is on unless `st_budget=False` (for tests of something
    else that need many of those reports); `monotonic` (a ManualClock) drives the quotas.
    """
    options = {} if monotonic is None else {"monotonic": monotonic}
    server = SimulatorServer(
        port=0,
        seed=seed,
        asins=asins,
        sellers=sellers,
        marketplaces=marketplaces,
        cvr_noise=cvr_noise,
        change_rate=change_rate,
        quota=quota,
        today=today,
        start_days_ago=start_days_ago,
        plain_http=plain_http,
        ca_dir=_CA_DIR,
        grants_file=grants_file,
        st_budget=st_budget,
        st_other_apps_per_day=st_other_apps_per_day,
        st_scope=st_scope,
        report_queue_seconds=report_queue_seconds,
        **options,
    )
    with server:
        yield server


class ManualClock:
    """A monotonic clock that moves only when told: quotas without sleeping.

    clock = ManualClock()
    with running_simulator(monotonic=clock) as sim:
        clock.advance(900)   # the next Sales & Traffic request is allowed
    """

    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    with running_simulator() as server:
        yield server


@dataclass
class SimResponse:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class SimClient:
    """Blocking HTTP(S) client for the simulator that trusts its CA and never follows redirects."""

    def __init__(self, server: SimulatorServer, *, validate: bool = True):
        self.server = server
        # Check every SP-API answer against the official model as it arrives.
        self.validate = validate
        self.base_url = server.base_url
        handlers: list[Any] = [_NoRedirect()]
        if server.ca_path:
            context = ssl.create_default_context(cafile=str(server.ca_path))
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        token: str | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> SimResponse:
        url = path if path.startswith("http") else self.base_url + path
        if params:
            query = {
                k: ",".join(v) if isinstance(v, list | tuple) else v for k, v in params.items()
            }
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query)
        data = None
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["x-amz-access-token"] = token
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded;charset=UTF-8"
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {url}")
        req = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310
        try:
            with self._opener.open(req, timeout=30) as response:
                answer = SimResponse(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            answer = SimResponse(error.code, error.headers, error.read())
        if self.validate and url.startswith(self.base_url):
            operation = operation_for(method, url[len(self.base_url) :])
            if operation is not None:
                validate_response(operation, answer.status, answer.json() if answer.body else None)
        return answer

    def get(self, path: str, **kwargs: Any) -> SimResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> SimResponse:
        return self.request("POST", path, **kwargs)

    def token(self, **form: str) -> SimResponse:
        """POST /auth/o2/token with the simulator app's client credentials and `form`."""
        app: AppRegistration = self.server.sim.app
        body = {"client_id": app.client_id, "client_secret": app.client_secret, **form}
        return self.post("/auth/o2/token", form=body)

    def refresh_token(self, seller_id: str) -> str:
        return self.post(f"/_sim/sellers/{seller_id}/grant").json()["refreshToken"]

    def access_token(self, seller_id: str) -> str:
        answer = self.token(grant_type="refresh_token", refresh_token=self.refresh_token(seller_id))
        return answer.json()["access_token"]
