"""The dashboard: overview, product table and product pages, mounted at /dashboard/."""

from django.urls import path

from cvrtracker.dashboard.views import overview, product, products

app_name = "dashboard"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("products/", products.product_table, name="products"),
    path("products.<str:fmt>", products.product_table_export, name="products_export"),
    path(
        "products/<uuid:code>/<str:marketplace>/<str:asin>/",
        product.product_page,
        name="product",
    ),
    path(
        "products/<uuid:code>/<str:marketplace>/<str:asin>/series.<str:fmt>",
        product.product_series_export,
        name="product_series_export",
    ),
]
