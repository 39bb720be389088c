"""Root URLs: admin, API (one include per app) and the OpenAPI documents."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

schema_view = SpectacularAPIView.as_view(permission_classes=[AllowAny], authentication_classes=[])

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/", include("erp.api.urls")),
    path("api/", include("inventory.api.urls")),
    path("api/", include("provisioning.api.urls")),
    path("api/", include("hubs.api.urls")),
    path("api/", include("integrations.api.urls")),
    path("api/schema/", schema_view, name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[AllowAny]), name="docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema", permission_classes=[AllowAny]), name="redoc"),
]

handler404 = "erp.api.views.not_found"
handler500 = "erp.api.views.server_failure"
