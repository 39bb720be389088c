"""FilterSets of the provisioning API lists."""

import django_filters

from provisioning.models import Customer, Plan, Router, RouterOperation, Service


class PlanFilterSet(django_filters.FilterSet):
    class Meta:
        model = Plan
        fields = ["code", "external_id"]


class CustomerFilterSet(django_filters.FilterSet):
    class Meta:
        model = Customer
        fields = ["code", "status", "document_number", "external_id"]


class RouterFilterSet(django_filters.FilterSet):
    class Meta:
        model = Router
        fields = ["enabled", "name"]


class ServiceFilterSet(django_filters.FilterSet):
    class Meta:
        model = Service
        fields = ["status", "router", "plan", "customer", "ip_address", "mac_address", "external_id"]


class RouterOperationFilterSet(django_filters.FilterSet):
    class Meta:
        model = RouterOperation
        fields = ["router", "service", "operation", "success"]
