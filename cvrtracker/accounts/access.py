"""Tenant access helpers: every view resolves what a user may touch through here.

A row of another team is answered with 404, never 403, so that its existence
does not leak.
"""

from django.core.exceptions import ValidationError
from django.http import Http404

from cvrtracker.accounts.models import Invitation, Membership, Team, User


def get_membership_for_user(user: User) -> Membership:
    """The user's membership (with its team), or 404 for a user without one."""
    try:
        return Membership.objects.select_related("team").get(user=user)
    except Membership.DoesNotExist:
        raise Http404("No team") from None


def get_team_for_user(user: User) -> Team:
    """The team whose data this user may read."""
    return get_membership_for_user(user).team


def get_owned_team_for_user(user: User) -> Team:
    """The user's team, if they own it; 404 otherwise (members cannot administer)."""
    membership = get_membership_for_user(user)
    if not membership.is_owner:
        raise Http404("Not the team owner")
    return membership.team


def get_member_for_owner(user: User, code) -> Membership:
    """A membership of the owner's own team, by its public code."""
    team = get_owned_team_for_user(user)
    try:
        return Membership.objects.select_related("user").get(team=team, code=code)
    except Membership.DoesNotExist:
        raise Http404("No such member") from None


def get_invitation_for_owner(user: User, code) -> Invitation:
    """An open invitation of the owner's own team, by its public code."""
    team = get_owned_team_for_user(user)
    try:
        return Invitation.objects.get(team=team, code=code, accepted_at__isnull=True)
    except Invitation.DoesNotExist:
        raise Http404("No such invitation") from None


# Amazon seller connections ---------------------------------------------------------


# A connection stopped by a disconnect or a revocation is gone for every read from that
# moment (its data key is destroyed and its data is being purged): these helpers only
# return live ones. Settings → Amazon lists the stopped ones apart, with no data.


def get_connections_for_user(user: User):
    """The live seller connections of the user's team (any member may see them)."""
    from cvrtracker.amazon.models import SellerConnection

    return SellerConnection.objects.live().filter(team=get_team_for_user(user))


def get_stopped_connections_for_user(user: User):
    """The team's connections stopped and waiting for their purge: to say so, never
    to read their data."""
    from cvrtracker.amazon.models import SellerConnection

    return SellerConnection.objects.stopped().filter(team=get_team_for_user(user))


def get_connection_for_user(user: User, code):
    """A live seller connection of the user's team, by its public code; 404 otherwise."""
    from cvrtracker.amazon.models import SellerConnection

    try:
        return SellerConnection.objects.live().get(team=get_team_for_user(user), code=code)
    except (SellerConnection.DoesNotExist, ValidationError):
        raise Http404("No such seller connection") from None


def get_owned_connection_for_user(user: User, code):
    """A live seller connection the user may change (disconnect): owners only."""
    from cvrtracker.amazon.models import SellerConnection

    try:
        return SellerConnection.objects.live().get(team=get_owned_team_for_user(user), code=code)
    except (SellerConnection.DoesNotExist, ValidationError):
        raise Http404("No such seller connection") from None


# Listings --------------------------------------------------------------------------


def get_listing_for_user(user: User, code):
    """A listing of the user's team, by its public code; 404 otherwise.

    Any member may change what is tracked; the plan and a read-only team are
    checked by the service.
    """
    from cvrtracker.listings.models import Listing

    try:
        return Listing.objects.select_related("connection__team").get(
            connection__in=get_connections_for_user(user), code=code
        )
    except (Listing.DoesNotExist, ValidationError):
        raise Http404("No such listing") from None


# Data exports ----------------------------------------------------------------------


def get_data_export_for_user(user: User, code):
    """A data export the user asked for, by its public code; 404 for anyone else's,
    teammates' included (an export holds its requester's personal data)."""
    from cvrtracker.privacy.models import DataExport

    try:
        return DataExport.objects.select_related("team").get(requested_by=user, code=code)
    except DataExport.DoesNotExist:
        raise Http404("No such export") from None
