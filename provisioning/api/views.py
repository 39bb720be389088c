"""Provisioning API: resource ViewSets plus the spec's MikroTik queries and mutations as actions (staff only)."""

from dataclasses import asdict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from provisioning import services
from provisioning.api import serializers as s
from provisioning.filters import (
    CustomerFilterSet,
    PlanFilterSet,
    RouterFilterSet,
    RouterOperationFilterSet,
    ServiceFilterSet,
)
from provisioning.models import Customer, Plan, Router, RouterOperation, Service

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Datos inválidos (VALIDATION_ERROR)."),
    409: OpenApiResponse(s.ErrorSerializer, description="Router deshabilitado (ROUTER_DISABLED) u otro conflicto."),
    502: OpenApiResponse(s.ErrorSerializer, description="ROUTER_AUTH_FAILED o ROUTER_ERROR (mensaje del router)."),
    504: OpenApiResponse(s.ErrorSerializer, description="ROUTER_UNREACHABLE: sin conexión o timeout."),
}


def _reply(serializer_class, data: dict) -> Response:
    return Response(serializer_class(data).data)


class PlanViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAdminUser]
    queryset = Plan.objects.all()
    serializer_class = s.PlanSerializer
    filterset_class = PlanFilterSet


class CustomerViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAdminUser]
    queryset = Customer.objects.all()
    serializer_class = s.CustomerSerializer
    filterset_class = CustomerFilterSet


class RouterOperationViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAdminUser]
    queryset = RouterOperation.objects.all()
    serializer_class = s.RouterOperationSerializer
    filterset_class = RouterOperationFilterSet


class RouterViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAdminUser]
    queryset = Router.objects.all()
    serializer_class = s.RouterSerializer
    filterset_class = RouterFilterSet

    @extend_schema(
        operation_id="mikrotikDhcpLeases",
        description="Leases DHCP del router. Con `?mac=` es mikrotikFindLeaseByMac; con `?ip=`, mikrotikFindLeaseByIp.",
        parameters=[s.LeaseQuerySerializer],
        responses={200: s.LeaseListSerializer, **ERRORS},
    )
    @action(detail=True, methods=["get"], url_path="dhcp-leases", pagination_class=None, filter_backends=[])
    def dhcp_leases(self, request, pk=None):
        query = s.LeaseQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        leases = services.list_leases(self.get_object(), **query.validated_data)
        return _reply(s.LeaseListSerializer, {"success": True, "count": len(leases), "leases": map(asdict, leases)})

    @extend_schema(
        operation_id="mikrotikSimpleQueues",
        description="Simple Queues del router. Con `?name=` es mikrotikFindQueue.",
        parameters=[s.QueueQuerySerializer],
        responses={200: s.QueueListSerializer, **ERRORS},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def queues(self, request, pk=None):
        query = s.QueueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        queues = services.list_queues(self.get_object(), **query.validated_data)
        return _reply(s.QueueListSerializer, {"success": True, "count": len(queues), "queues": map(asdict, queues)})

    @extend_schema(
        operation_id="mikrotikSystemResources", request=None, responses={200: s.ResourcesResponseSerializer, **ERRORS}
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def resources(self, request, pk=None):
        resources = services.get_resources(self.get_object())
        return _reply(s.ResourcesResponseSerializer, {"success": True, "resources": asdict(resources)})

    @extend_schema(operation_id="mikrotikConfigStatus", responses={200: s.ConfigStatusResponseSerializer})
    @action(detail=True, methods=["get"], url_path="config-status", filter_backends=[])
    def config_status(self, request, pk=None):
        config = services.get_config_status(self.get_object())
        return _reply(s.ConfigStatusResponseSerializer, {"success": True, "config": config})

    @extend_schema(
        operation_id="mikrotikValidatePppoe",
        parameters=[OpenApiParameter("username", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={200: s.PppoeStatusSerializer, **ERRORS},
    )
    @action(detail=True, methods=["get"], url_path=r"pppoe/(?P<username>[^/]+)", filter_backends=[])
    def pppoe(self, request, pk=None, username=None):
        status = services.validate_pppoe(self.get_object(), username)
        return _reply(s.PppoeStatusSerializer, {"success": True, **status})

    @extend_schema(operation_id="mikrotikPppSecrets", responses={200: s.PppSecretListSerializer, **ERRORS})
    @action(detail=True, methods=["get"], url_path="ppp-secrets", pagination_class=None, filter_backends=[])
    def ppp_secrets(self, request, pk=None):
        secrets = services.list_ppp_secrets(self.get_object())
        return _reply(
            s.PppSecretListSerializer, {"success": True, "count": len(secrets), "secrets": map(asdict, secrets)}
        )

    @extend_schema(
        operation_id="mikrotikBindIp",
        request=s.BindIpInputSerializer,
        responses={200: s.BindIpResultSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="bind-ip")
    def bind_ip(self, request, pk=None):
        router = self.get_object()  # an unknown router is a 404 before any body error
        data = _valid(s.BindIpInputSerializer, request)
        ip, mac = data["ip_address"], data["mac_address"]
        result = services.bind_ip(router, ip=ip, mac=mac, user=request.user)
        return _reply(s.BindIpResultSerializer, {"success": True, "message": result.message, "ip": ip, "mac": mac})

    @extend_schema(
        operation_id="mikrotikEnableQueue", request=None, responses={200: s.MutationResultSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"], url_path=r"queues/(?P<name>[^/]+)/enable")
    def enable_queue(self, request, pk=None, name=None):
        result = services.enable_queue(self.get_object(), name, user=request.user)
        return _reply(s.MutationResultSerializer, asdict(result))

    @extend_schema(
        operation_id="mikrotikDisableQueue", request=None, responses={200: s.MutationResultSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"], url_path=r"queues/(?P<name>[^/]+)/disable")
    def disable_queue(self, request, pk=None, name=None):
        result = services.disable_queue(self.get_object(), name, user=request.user)
        return _reply(s.MutationResultSerializer, asdict(result))

    @extend_schema(
        operation_id="mikrotikDeleteQueue", request=None, responses={200: s.MutationResultSerializer, **ERRORS}
    )
    @action(detail=True, methods=["delete"], url_path=r"queues/(?P<name>[^/]+)")
    def delete_queue(self, request, pk=None, name=None):
        result = services.delete_queue(self.get_object(), name, user=request.user)
        return _reply(s.MutationResultSerializer, asdict(result))


@extend_schema_view(
    queue=extend_schema(
        operation_id="mikrotikServiceQueue", methods=["GET"], responses={200: s.ServiceQueueSerializer}
    ),
)
class ServiceViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Services; deleting one is a deprovision (POST .../deprovision/), so there is no DELETE."""

    permission_classes = [IsAdminUser]
    queryset = Service.objects.select_related("customer", "plan", "router")
    serializer_class = s.ServiceSerializer
    filterset_class = ServiceFilterSet

    @extend_schema(
        operation_id="mikrotikCreateQueue",
        methods=["POST"],
        request=None,
        responses={200: s.MutationResultSerializer, **ERRORS},
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def queue(self, request, pk=None):
        service = self.get_object()
        if request.method == "POST":
            return _reply(s.MutationResultSerializer, asdict(services.create_queue(service, user=request.user)))
        queue = services.get_service_queue(service)
        body = {"success": True, "found": queue is not None, "queue": asdict(queue) if queue else None}
        return _reply(s.ServiceQueueSerializer, body)

    @extend_schema(
        operation_id="mikrotikProvisionService",
        request=s.ProvisionInputSerializer,
        responses={200: s.ProvisionResultSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def provision(self, request, pk=None):
        service = self.get_object()
        data = _valid(s.ProvisionInputSerializer, request)
        result = services.provision_service(service, ip=data["ip_address"], mac=data["mac_address"], user=request.user)
        return _reply(s.ProvisionResultSerializer, asdict(result))

    @extend_schema(
        operation_id="mikrotikSuspendService", request=None, responses={200: s.MutationResultSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        return _reply(
            s.MutationResultSerializer, asdict(services.suspend_service(self.get_object(), user=request.user))
        )

    @extend_schema(
        operation_id="mikrotikActivateService", request=None, responses={200: s.MutationResultSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        result = services.activate_service(self.get_object(), user=request.user)
        return _reply(s.MutationResultSerializer, asdict(result))

    @extend_schema(
        operation_id="mikrotikUpdateSpeed",
        request=s.UpdateSpeedInputSerializer,
        responses={200: s.MutationResultSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="update-speed")
    def update_speed(self, request, pk=None):
        service = self.get_object()
        data = _valid(s.UpdateSpeedInputSerializer, request)
        result = services.update_speed(service, plan=data.get("plan"), user=request.user)
        return _reply(s.MutationResultSerializer, asdict(result))

    @extend_schema(
        operation_id="mikrotikDeprovisionService", request=None, responses={200: s.MutationResultSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"])
    def deprovision(self, request, pk=None):
        result = services.deprovision_service(self.get_object(), user=request.user)
        return _reply(s.MutationResultSerializer, asdict(result))


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
