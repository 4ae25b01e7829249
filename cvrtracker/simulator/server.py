"""The simulator's HTTP(S) server: a WSGI handler with no middleware, on its own URLconf.

The main site's middleware (sessions, CSRF, axes, CSP, auth) never runs here and
no database is touched: every request is answered from the in-memory state.

    with SimulatorServer(port=0, seed=1, asins=20, quota="relaxed") as sim:
        sim.base_url, sim.ca_path
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.http import HttpRequest, HttpResponse

from .specs import check_models
from .state import Simulator
from .tls import default_ca_dir, load_or_create_ca, server_context
from .world import World

logger = logging.getLogger("cvrtracker.simulator")


class SimulatorHandler(WSGIHandler):
    def __init__(self, sim: Simulator):
        self.sim = sim
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        """No middleware at all: the chain is the view call with Django's error handling."""
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)

    def get_response(self, request: HttpRequest) -> HttpResponse:
        request.urlconf = "cvrtracker.simulator.urls"
        request.sim = self.sim  # type: ignore[attr-defined]
        response = super().get_response(request)
        # With a length the connection stays open for the client's next call (Django's
        # server closes it otherwise): one TLS handshake per client, not one per call.
        if not response.streaming and not response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response


class _QuietRequestHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug(format, *args)


class _Server(ThreadedWSGIServer):
    ssl_context: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, Any]:
        # Handshake in the request thread, not in the accept loop, so a slow or
        # broken client cannot stall everyone else.
        sock, address = self.socket.accept()
        # Headers and body leave in separate writes: without this, a kept-alive
        # connection waits for the client's delayed ACK (40 ms) on every answer.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)


class SimulatorServer:
    """Start a simulator on a background thread; a context manager for tests."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8100,
        seed: int = 42,
        sellers: int = 1,
        asins: int = 200,
        marketplaces: int | None = None,
        cvr_noise: float | None = None,
        change_rate: float | None = None,
        quota: str = "real",
        today: date | None = None,
        start_days_ago: int = 0,
        plain_http: bool = False,
        ca_dir: Path | None = None,
        grants_file: Path | None = None,
        quiet: bool = True,
        st_budget: bool | None = None,
        st_other_apps_per_day: int | None = None,
        st_scope: str | None = None,
        report_queue_seconds: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        """Raises specs.ModelsMissing when the SP-API models cannot be read."""
        check_models()
        self.sim = Simulator(
            seed=seed,
            sellers=sellers,
            asins=asins,
            marketplaces=marketplaces,
            cvr_noise=cvr_noise,
            change_rate=change_rate,
            quota=quota,
            today=today,
            start_days_ago=start_days_ago,
            grants_file=grants_file,
            st_budget=st_budget,
            st_other_apps_per_day=st_other_apps_per_day,
            st_scope=st_scope,
            report_queue_seconds=report_queue_seconds,
            monotonic=monotonic,
        )
        self.ca_path: Path | None = None
        handler_class = _QuietRequestHandler if quiet else WSGIRequestHandler
        self._server = _Server((host, port), handler_class)
        if not plain_http:
            ca, self.ca_path = load_or_create_ca(ca_dir or default_ca_dir())
            self._server.ssl_context = server_context(ca)
        self._server.set_app(SimulatorHandler(self.sim))
        scheme = "http" if plain_http else "https"
        self.port = self._server.server_address[1]
        self.base_url = f"{scheme}://{host}:{self.port}"
        self.sim.base_url = self.base_url
        self._thread: threading.Thread | None = None

    @property
    def world(self) -> World:
        return self.sim.world

    def start(self) -> SimulatorServer:
        # A short poll interval makes stop() quick, which matters for test suites.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="amazonsim", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
