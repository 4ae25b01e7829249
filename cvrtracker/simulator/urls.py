"""The simulator's own URLconf; the main site's urls and middleware never see these."""

from django.urls import path

from .views import (
    auth,
    catalog,
    control,
    datakiosk,
    inventory,
    listings,
    misc,
    orders,
    reports,
    sellers,
)

handler404 = "cvrtracker.simulator.views.misc.not_found"
handler500 = "cvrtracker.simulator.views.misc.server_error"

urlpatterns = [
    # Login with Amazon and Seller Central
    path("auth/o2/token", auth.token),
    path("apps/authorize/consent", auth.consent),
    path("apps/authorize/confirm", auth.login_callback),
    # SP-API
    path("sellers/v1/marketplaceParticipations", sellers.marketplace_participations),
    path("listings/2021-08-01/items/<str:seller_id>", listings.search_listings_items),
    path("listings/2021-08-01/items/<str:seller_id>/<path:sku>", listings.get_listings_item),
    path("catalog/2022-04-01/items", catalog.search_catalog_items),
    path("catalog/2022-04-01/items/<str:asin>", catalog.get_catalog_item),
    path("fba/inventory/v1/summaries", inventory.get_inventory_summaries),
    path("orders/2026-01-01/orders", orders.search_orders),
    path("orders/2026-01-01/orders/<str:order_id_>", orders.get_order),
    path("reports/2021-06-30/reports", reports.reports_collection),
    path("reports/2021-06-30/reports/<str:report_id>", reports.report_item),
    path("reports/2021-06-30/documents/<str:document_id>", reports.get_report_document),
    path("dataKiosk/2023-11-15/queries", datakiosk.queries_collection),
    path("dataKiosk/2023-11-15/queries/<str:query_id>", datakiosk.query_item),
    path("dataKiosk/2023-11-15/documents/<str:document_id>", datakiosk.get_document),
    # Outside SP-API: presigned document downloads and images
    path("_documents/<str:document_id>", reports.download_document),
    path("images/I/<str:image_id>.jpg", misc.image),
    # Control API
    path("_sim/", control.overview),
    path("_sim/sellers/<str:seller_id>/products", control.products),
    path("_sim/sellers/<str:seller_id>/grant", control.grant),
    path("_sim/sellers/<str:seller_id>/revoke", control.revoke),
    path("_sim/sellers/<str:seller_id>/listings/<path:sku>/truth", control.daily_truth),
    path("_sim/sellers/<str:seller_id>/listings/<path:sku>", control.change_listing),
    path("_sim/app/client-secret/rotate", control.rotate_client_secret),
    path("_sim/app/client-secret/expire-previous", control.expire_previous_client_secret),
    path("_sim/sellers/<str:seller_id>/report-queue", control.report_queue),
    path("_sim/faults", control.faults),
    path("_sim/report-faults", control.report_faults),
    path("_sim/sales-traffic-budget", control.sales_traffic_budget),
    path("_sim/clock", control.clock),
    path("_sim/ground-truth", control.ground_truth),
    path("_sim/counters", control.counters),
]
