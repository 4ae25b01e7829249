"""Every response to a signed-in user or an API key says `Cache-Control: no-store`,
whatever the URL pattern, unless its view says why it may be kept.

New views are covered automatically: the walk goes over the URL configuration, and a
view that opts out of no-store without being listed below fails here.
"""

import pytest
from django.urls import reverse

from cvrtracker.api.services import api_key_create
from cvrtracker.test import make_user

from .test_url_access import named_patterns, sample_kwargs

# Views whose responses may be cached, each with its decorator's reason (cacheable()).
CACHEABLE = {"amazon:simulator_image"}
PATTERNS = sorted(named_patterns())


def test_only_the_listed_views_opt_out():
    opted_out = {name for name, p in PATTERNS if getattr(p.callback, "cacheable_reason", None)}
    assert opted_out == CACHEABLE


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_pattern_answers_a_signed_in_user_with_no_store(client, method):
    user = make_user("owner@example.org")
    token = api_key_create(team=user.membership.team, name="walk", actor=user).token
    walked = []
    for name, pattern in PATTERNS:
        if name in CACHEABLE:
            continue
        client.force_login(user)  # a walk over log-out and "end other sessions" logs out
        url = reverse(name, kwargs=sample_kwargs(pattern))
        response = getattr(client, method)(url, headers={"authorization": f"Bearer {token}"})
        walked.append((url, response.status_code))
        assert "no-store" in response.get("Cache-Control", ""), (
            f"{method.upper()} {url} answered {response.status_code} without no-store"
        )
    assert len(walked) == len(PATTERNS) - len(CACHEABLE)


@pytest.mark.django_db
def test_an_anonymous_visitor_may_cache_public_pages(client):
    # The control: the walk above would catch a missing header (the home page has none).
    response = client.get(reverse("front:index"))
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
