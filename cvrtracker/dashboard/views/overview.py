"""Placeholder until the overview lands (see the brief): the no-connection page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from cvrtracker.accounts import access


@login_required
def overview(request):
    team = access.get_team_for_user(request.user)
    return render(request, "dashboard/overview.html", {"team": team})
