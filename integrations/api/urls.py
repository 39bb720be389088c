"""Routes of the integrations API."""

from django.urls import include, path

from integrations.api import views

urlpatterns: list = [
    # The external API for ERPs (API keys); keep this include.
    path("external/", include("integrations.api.external.urls")),
    path("reportes/integraciones/", views.IntegrationReportView.as_view(), name="integrations-report"),
    path("webhooks/inbound/<slug:slug>/", views.InboundWebhookView.as_view(), name="inbound-webhook"),
]
