import threading

import pytest
from django.db import close_old_connections
from django.db import connection as db_connection

from cvrtracker.accounts.models import Team
from cvrtracker.amazon import client
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.services import connection_access_token
from cvrtracker.test import make_user

from .helpers import connect_seller


@pytest.fixture
def connected(sim, transactional_db):
    alice = make_user("alice@example.org")
    return connect_seller(sim, team=Team.objects.get(), user=alice)


def test_it_caches_the_access_token_encrypted(connected):
    token = connection_access_token(connection=connected)
    assert token.startswith("Atza|")
    row = SellerConnection.objects.get()
    assert token.encode() not in bytes(row.access_token_enc)
    assert connection_access_token(connection=row) == token


def test_concurrent_workers_refresh_exactly_once(connected, monkeypatch):
    if db_connection.vendor == "sqlite" and "memory" in str(db_connection.settings_dict["NAME"]):
        # In-memory SQLite shares one cache with table locks that fail instead of
        # waiting; the file and PostgreSQL databases of real runs queue on the lock.
        pytest.skip("needs a database with real locking")
    calls = []
    real_refresh = client.lwa_refresh

    def counting_refresh(**kwargs):
        calls.append(1)
        return real_refresh(**kwargs)

    monkeypatch.setattr(client, "lwa_refresh", counting_refresh)
    tokens, errors = [], []
    start = threading.Barrier(6)

    def worker():
        try:
            # Each thread is its own worker with its own copy of the row.
            row = SellerConnection.objects.get(pk=connected.pk)
            start.wait()
            tokens.append(connection_access_token(connection=row))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(calls) == 1
    assert len(tokens) == 6 and len(set(tokens)) == 1


def test_a_refused_token_is_replaced_once(connected):
    first = connection_access_token(connection=connected)
    other_worker = SellerConnection.objects.get(pk=connected.pk)
    second = connection_access_token(connection=connected, force=True)
    assert second != first
    # A worker whose token Amazon refused, after someone else already refreshed,
    # reuses the new token instead of refreshing again.
    assert connection_access_token(connection=other_worker, force=True) == second


def test_invalid_grant_stops_the_connection_from_when_it_was_first_seen(connected, sim):
    """Issue 12: a revocation is a stop like a disconnect: key destroyed, stopped_at the
    first time LWA said invalid_grant (never moved later), the stop announced once."""
    from datetime import UTC, datetime, timedelta

    import time_machine

    from cvrtracker.amazon.client import ConnectionStopped, RevokedAuthorization
    from cvrtracker.amazon.services import connection_record_error
    from cvrtracker.amazon.signals import connection_stopped
    from cvrtracker.simulator.testing import SimClient

    heard = []

    def listen(sender, *, connection, reason, **kwargs):
        heard.append(reason)

    connection_stopped.connect(listen)
    try:
        SimClient(sim).post(f"/_sim/sellers/{connected.selling_partner_id}/revoke")
        first = datetime(2026, 11, 1, 12, tzinfo=UTC)
        with time_machine.travel(first, tick=False), pytest.raises(RevokedAuthorization):
            connection_access_token(connection=connected, force=True)
        with time_machine.travel(first + timedelta(days=2), tick=False):
            connection_record_error(connection=connected, error=RevokedAuthorization())
    finally:
        connection_stopped.disconnect(listen)
    row = SellerConnection.objects.get()
    assert row.status == "revoked" and row.stopped_at == first
    assert row.wrapped_data_key is None and row.refresh_token_enc is None
    assert heard == ["revoked"]  # sent after commit, once
    with pytest.raises(ConnectionStopped):
        connection_access_token(connection=row, force=True)
