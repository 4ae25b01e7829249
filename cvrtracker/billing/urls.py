from django.urls import path

from cvrtracker.billing import views

app_name = "billing"

urlpatterns = [
    path("", views.page, name="page"),
    path("checkout/", views.checkout, name="checkout"),
    path("return/", views.checkout_return, name="checkout_return"),
    path("status/", views.status, name="status"),
    path("portal/", views.portal, name="portal"),
    path("invoices/<uuid:code>/", views.invoice, name="invoice"),
    path("webhook/", views.webhook, name="webhook"),
]
