"""The API's access helpers, beside accounts/access.py's.

A key reaches its own team's rows only; anything else is answered with 404,
never 403, so that another team's connection codes cannot be confirmed.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from cvrtracker.accounts.access import get_owned_team_for_user, get_team_for_user
from cvrtracker.accounts.models import User
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.api.models import ApiKey


def get_api_keys_for_user(user: User) -> QuerySet[ApiKey]:
    """The keys of the user's team, newest first (any member may see them)."""
    return ApiKey.objects.filter(team=get_team_for_user(user)).select_related("created_by")


def get_owned_api_key_for_user(user: User, code) -> ApiKey:
    """A key of the user's team, if they own it; 404 otherwise (members cannot revoke)."""
    try:
        return ApiKey.objects.get(team=get_owned_team_for_user(user), code=code)
    except ApiKey.DoesNotExist:
        raise Http404("No such API key") from None


def get_connections_for_key(key: ApiKey) -> QuerySet[SellerConnection]:
    """The key's team's live seller connections: a disconnected or revoked one is gone
    for the API at once (its data key is destroyed; its data is being purged)."""
    return SellerConnection.objects.live().filter(team_id=key.team_id)


def get_connection_for_key(key: ApiKey, code) -> SellerConnection:
    """A seller connection of the key's team, by its public code; 404 otherwise."""
    try:
        return get_connections_for_key(key).get(code=code)
    except SellerConnection.DoesNotExist:
        raise Http404("No such seller connection") from None
