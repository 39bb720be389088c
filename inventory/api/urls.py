"""Routes of the inventory API."""

urlpatterns: list = []
