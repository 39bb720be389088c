"""Provisioning API shapes: model resources, use-case inputs, and the spec's response bodies."""

from rest_framework import serializers

from provisioning.models import Customer, Plan, Router, RouterOperation, Service, normalize_mac

# -------------------------------------------------------------------------- resources


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["id", "name", "code", "download_mbps", "upload_mbps", "external_id", "created_at", "updated_at"]


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = [
            "id", "code", "name", "document_number", "address", "email", "status", "external_id",
            "created_at", "updated_at",
        ]  # fmt: skip


class RouterSerializer(serializers.ModelSerializer):
    # Write-only: a stored router password never leaves the server.
    password = serializers.CharField(write_only=True, required=False, allow_blank=True, trim_whitespace=False)
    password_set = serializers.SerializerMethodField()

    class Meta:
        model = Router
        fields = [
            "id", "name", "enabled", "host", "port", "username", "password", "password_set", "use_ssl", "tls_mode",
            "ca_certificate", "tls_fingerprint", "encoding", "timeout_s", "dhcp_enabled", "dhcp_server",
            "queue_enabled", "queue_name_prefix", "suspend_action", "suspend_limit", "activate_action",
            "created_at", "updated_at",
        ]  # fmt: skip

    def get_password_set(self, obj) -> bool:
        return bool(obj.password)

    def validate(self, attrs):
        if self.instance is None and not attrs.get("password"):
            raise serializers.ValidationError({"password": ["Requerida al crear un router."]})
        return attrs

    def update(self, instance, validated_data):
        # An omitted or empty password keeps the stored one (the client never saw it to send it back).
        if not validated_data.get("password"):
            validated_data.pop("password", None)
        return super().update(instance, validated_data)


class ServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = [
            "id", "customer", "plan", "router", "ip_address", "mac_address", "pppoe_username", "status",
            "provisioned_at", "last_error", "external_id", "created_at", "updated_at",
        ]  # fmt: skip
        # Router state changes only through the use-case endpoints, which keep router and database in step.
        read_only_fields = ["ip_address", "mac_address", "status", "provisioned_at", "last_error"]


class RouterOperationSerializer(serializers.ModelSerializer):
    class Meta:
        model = RouterOperation
        fields = ["id", "router", "service", "operation", "params", "success", "error", "duration_ms", "created_at"]


# -------------------------------------------------------------------------- inputs


class MacAddressField(serializers.CharField):
    def to_internal_value(self, data):
        try:
            return normalize_mac(super().to_internal_value(data))
        except ValueError:
            raise serializers.ValidationError("MAC inválida (use AA:BB:CC:DD:EE:FF).") from None


class BindIpInputSerializer(serializers.Serializer):
    ip_address = serializers.IPAddressField(protocol="IPv4")
    mac_address = MacAddressField(max_length=17)


class ProvisionInputSerializer(BindIpInputSerializer):
    pass


class UpdateSpeedInputSerializer(serializers.Serializer):
    plan_id = serializers.PrimaryKeyRelatedField(queryset=Plan.objects.all(), required=False, source="plan")


class LeaseQuerySerializer(serializers.Serializer):
    mac = MacAddressField(required=False, max_length=17)
    ip = serializers.IPAddressField(protocol="IPv4", required=False)


class QueueQuerySerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=100)


# -------------------------------------------------------------------------- outputs


class LeaseSerializer(serializers.Serializer):
    id = serializers.CharField()
    address = serializers.CharField()
    mac_address = serializers.CharField()
    host_name = serializers.CharField()
    status = serializers.CharField()
    dynamic = serializers.BooleanField()
    server = serializers.CharField()
    comment = serializers.CharField()


class LeaseListSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    count = serializers.IntegerField()
    leases = LeaseSerializer(many=True)


class QueueSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    target = serializers.CharField()
    max_limit = serializers.CharField(help_text="bits/s, subida/bajada desde el cliente: 10000000/50000000")
    disabled = serializers.BooleanField()
    comment = serializers.CharField()
    rate = serializers.CharField()
    bytes = serializers.CharField()


class QueueListSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    count = serializers.IntegerField()
    queues = QueueSerializer(many=True)


class ServiceQueueSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    found = serializers.BooleanField()
    queue = QueueSerializer(allow_null=True)


class ResourceSerializer(serializers.Serializer):
    identity = serializers.CharField()
    cpu_load = serializers.IntegerField()
    free_memory = serializers.IntegerField()
    total_memory = serializers.IntegerField()
    uptime = serializers.CharField()
    version = serializers.CharField()
    board_name = serializers.CharField()


class ResourcesResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    resources = ResourceSerializer()


class ConfigSerializer(serializers.Serializer):
    router_id = serializers.IntegerField()
    name = serializers.CharField()
    enabled = serializers.BooleanField()
    host = serializers.CharField()
    port = serializers.IntegerField()
    username = serializers.CharField()
    password_set = serializers.BooleanField()
    use_ssl = serializers.BooleanField()
    tls_mode = serializers.CharField()
    timeout_s = serializers.IntegerField()
    dhcp_enabled = serializers.BooleanField()
    dhcp_server = serializers.CharField()
    queue_enabled = serializers.BooleanField()
    queue_name_prefix = serializers.CharField()
    suspend_action = serializers.CharField()
    suspend_limit = serializers.CharField()
    activate_action = serializers.CharField()
    reachable = serializers.BooleanField()
    identity = serializers.CharField()
    error = serializers.CharField()


class ConfigStatusResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    config = ConfigSerializer()


class PppoeStatusSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    active = serializers.BooleanField()
    username = serializers.CharField()
    current_address = serializers.CharField(allow_null=True)
    uptime = serializers.CharField(allow_null=True, help_text="p. ej. 2d 3h 14m")
    caller_id = serializers.CharField(allow_null=True)
    identity = serializers.CharField(help_text="Identidad del router")


class PppSecretSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    service = serializers.CharField()
    profile = serializers.CharField()
    remote_address = serializers.CharField()
    disabled = serializers.BooleanField()
    comment = serializers.CharField()
    last_caller_id = serializers.CharField()
    last_logged_out = serializers.CharField()


class PppSecretListSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    count = serializers.IntegerField()
    secrets = PppSecretSerializer(many=True)


class BindIpResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    ip = serializers.CharField()
    mac = serializers.CharField()


class ProvisionResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    ip = serializers.CharField()
    mac = serializers.CharField()
    queue_name = serializers.CharField()
    max_limit = serializers.CharField(help_text="subida/bajada, p. ej. 10M/50M")


class MutationResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    service_id = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    queue_name = serializers.CharField()
    max_limit = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    error = serializers.CharField()
    code = serializers.CharField()
    details = serializers.JSONField(allow_null=True)
