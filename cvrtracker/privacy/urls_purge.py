"""See urls.py."""

urlpatterns: list = []
