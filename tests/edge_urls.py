"""The site's URLs plus one that tells what the app believes about a request: used by
tests/test_tls_edge.py to show that the app trusts the edge's X-Forwarded-Proto."""

from django.http import HttpResponse
from django.urls import include, path


def scheme(request):
    return HttpResponse(f"{request.scheme} {request.get_host()}", content_type="text/plain")


urlpatterns = [path("_edge/scheme", scheme), path("", include("cvrtracker.urls"))]
