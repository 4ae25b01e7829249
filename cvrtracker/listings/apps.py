from django.apps import AppConfig


class ListingsConfig(AppConfig):
    name = "cvrtracker.listings"
    label = "listings"
    verbose_name = "Listings, snapshots and inventory"
