"""Settings → Privacy → "Amazon data deleted": the team's deletion receipts."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cvrtracker.accounts.access import get_team_for_user
from cvrtracker.privacy.models import ConnectionDeletion
from cvrtracker.privacy.purge import receipt_rows

RECEIPTS_SHOWN = 50


@login_required
@require_GET
def deletions_panel(request: HttpRequest) -> HttpResponse:
    """Every member sees the receipts (counts only: no seller id, ASIN or SKU)."""
    team = get_team_for_user(request.user)
    receipts = list(ConnectionDeletion.objects.filter(team=team)[:RECEIPTS_SHOWN])
    for receipt in receipts:
        receipt.rows = receipt_rows(receipt)
    ctx = {"receipts": receipts, "purge_days": settings.AMAZON_DATA_PURGE_DAYS}
    return render(request, "privacy/_deletions_panel.html", ctx)
