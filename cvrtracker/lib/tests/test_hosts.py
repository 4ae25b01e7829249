import pytest

from cvrtracker.lib.hosts import host_is_loopback


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST", "127.0.0.1", "127.0.0.2", "::1", "[::1]"]
)
def test_loopback_hosts(host):
    assert host_is_loopback(host)


@pytest.mark.parametrize(
    "host", [None, "", "db.example.com", "10.0.0.5", "2001:db8::1", "localhost.example.com"]
)
def test_other_hosts(host):
    assert not host_is_loopback(host)
