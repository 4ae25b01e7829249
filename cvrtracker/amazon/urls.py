from django.urls import path

from cvrtracker.amazon import views

app_name = "amazon"

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("connect/<str:region>/", views.connect, name="connect"),
    # The redirect URI registered with Amazon (AMAZON_REDIRECT_URI).
    path("callback/", views.connect_complete, name="connect_complete"),
    # The log-in URI registered with Amazon, for the Appstore and renewal flows.
    path("login/", views.login_hop, name="login"),
    path("<uuid:code>/disconnect/", views.disconnect, name="disconnect"),
    path("<uuid:code>/products/", views.products, name="products"),
    path("products/<uuid:code>/tracking/", views.product_tracking, name="product_tracking"),
    # The demo simulator's product images (404 unless it is the SP-API endpoint: images.py).
    path("simulator-images/<str:image_id>.jpg", views.simulator_image, name="simulator_image"),
]
