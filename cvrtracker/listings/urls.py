"""The change history pages, mounted under /amazon/ beside the products page."""

from django.urls import path

from cvrtracker.listings import views

app_name = "listings"

urlpatterns = [
    path("changes/", views.changes_home, name="changes_home"),
    path("<uuid:code>/changes/", views.account_changes, name="account_changes"),
    path("products/<uuid:code>/changes/", views.product_changes, name="product_changes"),
]
