"""The read-only JSON API, mounted at /api/v1/ (bearer keys, see decorators.py)."""

from django.urls import path, re_path

from cvrtracker.api import views

app_name = "api"

urlpatterns = [
    # Public, like any API's description: it holds no data.
    path("openapi.json", views.openapi, name="openapi"),
    path("connections", views.connections, name="connections"),
    path("connections/<uuid:code>/products", views.products, name="products"),
    path(
        "connections/<uuid:code>/products/<str:asin>/series",
        views.product_series,
        name="product_series",
    ),
    path("connections/<uuid:code>/series", views.account_series, name="account_series"),
    path("connections/<uuid:code>/changes", views.changes, name="changes"),
    # Anything else under /api/v1/ (a code that is no UUID, an unknown path) is a JSON
    # 404 like the endpoints' own, not the site's HTML page.
    re_path(r"^[\s\S]*$", views.not_found),
]
