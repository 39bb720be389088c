"""Routes of the integrations API."""

urlpatterns: list = []
