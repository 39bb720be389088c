"""Integrations API views: the integration report (staff) and the inbound webhook receiver (signed, public)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from erp.api.errors import error_response
from integrations import reports
from integrations.api.serializers import (
    InboundAcceptedSerializer,
    IntegrationReportQuerySerializer,
    IntegrationReportSerializer,
)
from integrations.webhooks import inbound


class IntegrationReportView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="integrationsReport",
        parameters=[IntegrationReportQuerySerializer],
        responses={200: IntegrationReportSerializer},
        tags=["integraciones"],
        summary="Resumen de integraciones (sincronizaciones, webhooks) en una ventana de tiempo",
    )
    def get(self, request):
        query = IntegrationReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(IntegrationReportSerializer(reports.get_integration_report(**query.validated_data)).data)


class InboundWebhookView(APIView):
    # Public by design: the caller is authenticated by the HMAC signature over the raw body, not by a session.
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="inboundWebhook",
        request=OpenApiTypes.BINARY,
        responses={
            200: OpenApiResponse(InboundAcceptedSerializer, description="Repetición de un webhook ya recibido"),
            202: OpenApiResponse(InboundAcceptedSerializer, description="Recibido; se procesa en segundo plano"),
            401: OpenApiResponse(description="Firma inválida o ausente (INVALID_SIGNATURE)"),
            403: OpenApiResponse(description="Origen desactivado"),
            404: OpenApiResponse(description="Origen desconocido"),
            413: OpenApiResponse(description="Cuerpo mayor al máximo"),
        },
        tags=["webhooks"],
        summary="Recibir un webhook firmado de un sistema externo",
    )
    def post(self, request, slug: str):
        body = request.body  # the raw bytes: the signature covers them, never re-serialized JSON
        limit = inbound.max_body_bytes()
        if len(body) > limit:
            return error_response(f"El cuerpo supera el máximo de {limit} bytes.", "PAYLOAD_TOO_LARGE", 413)
        event, created = inbound.receive_inbound(slug, body, dict(request.headers))
        return Response({"success": True, "id": event.pk, "duplicate": not created}, status=202 if created else 200)
