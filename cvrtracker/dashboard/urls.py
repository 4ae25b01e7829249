"""The dashboard: overview, product table and product pages, mounted at /dashboard/."""

from django.urls import path

from cvrtracker.dashboard.views import changes_export, overview, product, products

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
    path(
        "products/<uuid:code>/<str:marketplace>/<str:asin>/changes.<str:fmt>",
        changes_export.product_changes_export,
        name="product_changes_export",
    ),
    # The change history pages' downloads (listings:account_changes, product_changes).
    path(
        "changes/<uuid:code>.<str:fmt>",
        changes_export.account_changes_export,
        name="account_changes_export",
    ),
    path(
        "changes/products/<uuid:code>.<str:fmt>",
        changes_export.listing_changes_export,
        name="listing_changes_export",
    ),
]
