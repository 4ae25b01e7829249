"""Placeholder: see the brief; replaced by the helper that owns this page."""

from django.contrib.auth.decorators import login_required
from django.http import Http404


@login_required
def product_page(request, code, marketplace, asin):
    raise Http404("not built yet")


@login_required
def product_series_export(request, code, marketplace, asin, fmt):
    raise Http404("not built yet")
