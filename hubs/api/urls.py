"""Routes of the hubs API."""

urlpatterns: list = []
