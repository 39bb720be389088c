"""Routes of the provisioning API."""

urlpatterns: list = []
