"""The cache holds no Amazon values and no personal data in the clear (issue 15, point 2).

With REDIS_URL set, Django's cache is Redis, shared by every process and kept on its
disk: the dashboard's derived figures (dashboard/cache.py, dashboard/table.py) are
encrypted with the account's data key, their keys are hashes, and the public forms'
throttle names an IP address only by its keyed hash. This renders the dashboard's
pages for a seller (overview, product table, a product's page) with the cache on
Redis, then on the per-process memory cache, sends a public-form message, and
searches every byte the cache holds for the seller's ASINs, SKUs, titles, seller id,
the team's name, the user's email address and the sender's IP address.
"""

from __future__ import annotations

import secrets

import pytest
from django.core.cache import caches
from django.urls import reverse

from cvrtracker.dashboard.tests.table_data import NOW, PRODUCTS, US, make_seller
from cvrtracker.lib import clock
from cvrtracker.privacy.requests import public_form_throttle
from cvrtracker.test import make_user

# A Redis database of its own (the worker tests use 13, the queue test 11): flushed.
REDIS_URL = "redis://127.0.0.1:6379/12"
REDIS_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cvrtracker",
    }
}
MEMORY_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "cache-secrecy",
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    }
}


@pytest.fixture
def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


def redis_storage(client) -> dict[bytes, bytes]:
    """Every key of the cache's database and its raw value (the cache writes strings)."""
    out = {}
    for key in client.scan_iter():
        assert client.type(key) == b"string", key
        out[key] = client.get(key)
    return out


def memory_storage() -> dict[bytes, bytes]:
    """The memory cache's entries: its keys, and its values as it stores them (pickled)."""
    backend = caches["default"]
    return {key.encode(): value for key, value in backend._cache.items()}


def fill_the_cache(client, seller_email: str, ip: str) -> None:
    """What the product caches: the dashboard's pages of one seller, and a public form."""
    with clock.following(lambda: NOW):
        user = make_user(seller_email)
        connection = make_seller(user.membership.team, user)
        team = user.membership.team
        team.name = f"Team {seller_email}"
        team.save(update_fields=["name"])
        client.force_login(user)
        asin = next(iter(PRODUCTS))
        for url in (
            reverse("dashboard:overview"),
            reverse("dashboard:products"),
            reverse("dashboard:products") + "?sort=-units",
            reverse("dashboard:product", args=[connection.code, US, asin]),
        ):
            assert client.get(url).status_code == 200, url
    public_form_throttle(ip=ip)


def needles(seller_email: str, ip: str) -> list[bytes]:
    words = [seller_email, ip, "A1TABLESELLER"]
    for asin, (sku, title, parent, *_) in PRODUCTS.items():
        words += [asin, *(w for w in (sku, title, parent) if w)]
    # As text; pickle (the cache's format for values) writes a str's UTF-8 as is.
    return [word.encode() for word in words]


def assert_clean(storage: dict[bytes, bytes], seller_email: str, ip: str) -> None:
    found = {
        needle: key
        for needle in needles(seller_email, ip)
        for key, value in storage.items()
        if needle in key or needle in value
    }
    assert not found, f"the cache holds {found}"


def _canaries() -> tuple[str, str]:
    return f"cache.{secrets.token_hex(5)}@example.org", f"203.0.113.{secrets.randbelow(250) + 2}"


@pytest.mark.django_db
def test_the_redis_cache_holds_no_amazon_value_and_no_personal_data(settings, client, redis_client):
    settings.CACHES = REDIS_CACHE
    email, ip = _canaries()
    fill_the_cache(client, email, ip)
    storage = redis_storage(redis_client)
    # The pages did use the cache: the table's sums, the overview's movers, the
    # product's months, the throttle's count.
    kinds = {key.split(b":")[2] for key in storage}
    used = {b"dashboard.table", b"dashboard.movers", b"dashboard.product_series", b"privacy"}
    assert used <= kinds, kinds
    assert_clean(storage, email, ip)


@pytest.mark.django_db
def test_the_memory_cache_holds_no_amazon_value_and_no_personal_data(settings, client):
    settings.CACHES = MEMORY_CACHE
    caches["default"].clear()
    email, ip = _canaries()
    fill_the_cache(client, email, ip)
    storage = memory_storage()
    assert len(storage) >= 4
    assert_clean(storage, email, ip)
    caches["default"].clear()


@pytest.mark.django_db
def test_the_search_finds_a_value_cached_in_the_clear(settings, redis_client):
    """The control: a title or an IP address cached as is is found, in a key or a value."""
    settings.CACHES = REDIS_CACHE
    email, ip = _canaries()
    title = next(iter(PRODUCTS.values()))[1]
    caches["default"].set(f"throttle:{ip}", 1)
    caches["default"].set("title", {"title": title})  # pickled by Django's Redis cache
    stored = redis_storage(redis_client)
    with pytest.raises(AssertionError, match=title):
        assert_clean({k: v for k, v in stored.items() if b"title" in k}, email, ip)
    with pytest.raises(AssertionError, match=ip):
        assert_clean(redis_storage(redis_client), email, ip)
