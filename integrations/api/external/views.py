"""The external inventory API for ERPs (API keys): a thin facade over inventory services and queries."""

from datetime import timedelta

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.api.external import schema  # noqa: F401  (registers the ApiKey security scheme)
from integrations.api.external.auth import ApiKeyAuthentication, ApiKeyRateThrottle, HasScope
from integrations.api.external.idempotency import idempotent
from integrations.api.external.serializers import (
    ArticleInputSerializer,
    ArticleSerializer,
    ArticleUpdateSerializer,
    MovementInputSerializer,
    MovementSerializer,
    RejectInputSerializer,
    ReportQuerySerializer,
    StockSerializer,
)
from integrations.api_keys import key_label
from inventory import queries, services
from inventory.filters import ArticleFilterSet, MovementFilterSet, StockFilterSet
from inventory.models import Article, Movement, Stock

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    description="Misma clave y cuerpo dentro de 24 h: se devuelve la primera respuesta sin repetir la operación.",
)


class ExternalApiMixin:
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [ApiKeyRateThrottle]

    def actor(self) -> services.Actor:
        return services.Actor(key_label=key_label(self.request.auth))


@extend_schema_view(
    list=extend_schema(operation_id="externalArticlesList", tags=["external"]),
    retrieve=extend_schema(operation_id="externalArticlesRetrieve", tags=["external"]),
)
class ArticleViewSet(ExternalApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Article.objects.prefetch_related(Prefetch("stock", queryset=Stock.objects.select_related("warehouse")))
    serializer_class = ArticleSerializer
    filterset_class = ArticleFilterSet
    ordering_fields = ["code", "name", "updated_at", "created_at"]
    ordering = ["code"]
    lookup_field = "code"
    lookup_value_regex = "[^/]+"

    def get_object(self):
        self.kwargs["code"] = self.kwargs["code"].strip().upper()
        return super().get_object()

    @extend_schema(
        operation_id="externalArticlesCreate",
        tags=["external"],
        request=ArticleInputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: ArticleSerializer, 409: OpenApiResponse(description="El código ya existe")},
        examples=[
            OpenApiExample(
                "ONU",
                request_only=True,
                value={"code": "ONU-HG8145", "name": "ONU Huawei HG8145V5", "category": "ONU", "min_stock": "10"},
            )
        ],
    )
    def create(self, request):
        data = ArticleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)

        def act():
            article = services.create_article(**data.validated_data)
            return Response(ArticleSerializer(self.get_queryset().get(pk=article.pk)).data, status=201)

        return idempotent(request, act)

    @extend_schema(
        operation_id="externalArticlesPartialUpdate",
        tags=["external"],
        request=ArticleUpdateSerializer,
        responses=ArticleSerializer,
    )
    def partial_update(self, request, code=None):
        article = self.get_object()
        data = ArticleUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.save_article(code=article.code, article=article, **data.validated_data)
        return Response(ArticleSerializer(self.get_queryset().get(pk=article.pk)).data)


@extend_schema_view(list=extend_schema(operation_id="externalStockList", tags=["external"]))
class StockViewSet(ExternalApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = Stock.objects.select_related("article", "warehouse")
    serializer_class = StockSerializer
    filterset_class = StockFilterSet
    ordering_fields = ["quantity", "updated_at"]
    ordering = ["article__code", "warehouse__code"]


@extend_schema_view(
    list=extend_schema(operation_id="externalMovementsList", tags=["external"]),
    retrieve=extend_schema(operation_id="externalMovementsRetrieve", tags=["external"]),
)
class MovementViewSet(ExternalApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Movement.objects.select_related("article", "warehouse", "to_warehouse", "created_by", "approved_by")
    serializer_class = MovementSerializer
    filterset_class = MovementFilterSet
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]
    required_scopes = {"aprobar": "approve", "rechazar": "approve"}

    @extend_schema(
        operation_id="externalMovementsCreate",
        tags=["external"],
        request=MovementInputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: MovementSerializer, 404: OpenApiResponse(description="Artículo o depósito inexistente")},
        examples=[
            OpenApiExample(
                "Salida de ONUs",
                request_only=True,
                value={
                    "kind": "salida",
                    "article": "ONU-HG8145",
                    "warehouse": "CENTRAL",
                    "quantity": "2",
                    "reference": "OT-2026-0042",
                },
            )
        ],
    )
    def create(self, request):
        data = MovementInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data

        def act():
            movement = services.create_movement(
                kind=v["kind"],
                article=services.get_article(v["article"]),
                warehouse=services.get_warehouse(v["warehouse"]),
                to_warehouse=services.get_warehouse(v["to_warehouse"]) if v["to_warehouse"] else None,
                quantity=v["quantity"],
                direction=1 if v["direction"] == "in" else -1,
                reference=v["reference"],
                actor=self.actor(),
                auto_approve=request.auth.auto_approve,
            )
            return Response(MovementSerializer(self.get_queryset().get(pk=movement.pk)).data, status=201)

        return idempotent(request, act)

    @extend_schema(
        operation_id="externalMovementsApprove",
        tags=["external"],
        request=None,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: MovementSerializer, 409: OpenApiResponse(description="INSUFFICIENT_STOCK o no pendiente")},
    )
    @action(detail=True, methods=["post"])
    def aprobar(self, request, pk=None):
        def act():
            movement = services.approve_movement(int(pk), actor=self.actor())
            return Response(MovementSerializer(self.get_queryset().get(pk=movement.pk)).data)

        return idempotent(request, act)

    @extend_schema(
        operation_id="externalMovementsReject",
        tags=["external"],
        request=RejectInputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses=MovementSerializer,
    )
    @action(detail=True, methods=["post"])
    def rechazar(self, request, pk=None):
        data = RejectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)

        def act():
            movement = services.reject_movement(int(pk), actor=self.actor(), reason=data.validated_data["reason"])
            return Response(MovementSerializer(self.get_queryset().get(pk=movement.pk)).data)

        return idempotent(request, act)


class ReportView(ExternalApiMixin, APIView):
    @extend_schema(
        operation_id="externalReport",
        tags=["external"],
        parameters=[ReportQuerySerializer],
        responses={200: OpenApiResponse(description="Resumen de stock, bajo mínimo y movimientos por día")},
    )
    def get(self, request):
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        today = timezone.localdate()
        date_to = query.validated_data.get("date_to") or today
        date_from = query.validated_data.get("date_from") or date_to - timedelta(days=29)
        return Response(queries.stock_report(date_from=date_from, date_to=date_to), status=status.HTTP_200_OK)
