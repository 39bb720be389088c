"""Admin for webhooks: endpoints (test event, rotate secret, re-enable), deliveries (retry, replay), inbound."""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from erp import events
from erp.exceptions import DomainError
from integrations.models import (
    DeliveryStatus,
    InboundEvent,
    InboundStatus,
    InboundWebhookSource,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from integrations.webhooks import endpoints, inbound, outbound, ssrf

STATUS_COLOURS = {
    DeliveryStatus.PENDING: "#b7791f",
    DeliveryStatus.DELIVERED: "#2e9e5b",
    DeliveryStatus.FAILED: "#d64545",
    DeliveryStatus.DISCARDED: "#718096",
    InboundStatus.RECEIVED: "#b7791f",
    InboundStatus.PROCESSING: "#3182ce",
    InboundStatus.PROCESSED: "#2e9e5b",
    InboundStatus.IGNORED: "#718096",
    InboundStatus.ERROR: "#d64545",
}


def coloured_status(obj):
    colour = STATUS_COLOURS.get(obj.status, "#333")
    return format_html(
        '<strong class="status status-{}" style="color:{}">{}</strong>', obj.status, colour, obj.get_status_display()
    )


def run_per_object(modeladmin, request, queryset, service, done_message):
    """Call `service` for each selected object and report each success or refusal."""
    for obj in queryset:
        try:
            service(obj)
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{obj}: {done_message}", messages.SUCCESS)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("eventos suscriptos"), widget=forms.CheckboxSelectMultiple, choices=()
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "event_types", "description", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event_types"].choices = [(name, f"{name}: {e.description}") for name, e in events.CATALOG.items()]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            ssrf.check_url(url)  # refused at save time here, and again before every send
        except ssrf.UnsafeTargetError as exc:
            raise forms.ValidationError(exc.message) from exc
        return url


class RecentDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fk_name = "endpoint"
    verbose_name_plural = _("últimas 50 entregas")
    fields = [
        "delivery_link",
        "event_type",
        "status_badge",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        object_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        ids = list(
            WebhookDelivery.objects.filter(endpoint_id=object_id).order_by("-id").values_list("id", flat=True)[:50]
        )
        return super().get_queryset(request).filter(pk__in=ids).order_by("-id")

    @admin.display(description=_("mensaje"))
    def delivery_link(self, obj):
        return format_html('<a href="../../../webhookdelivery/{}/change/">{}</a>', obj.pk, obj.msg_id)

    @admin.display(description=_("estado"))
    def status_badge(self, obj):
        return coloured_status(obj)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    # Typed without a scheme, a URL means https (Django 6's default; explicit now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    form = WebhookEndpointForm
    list_display = ["name", "url", "active", "events_list", "failing_since", "disabled_reason"]
    list_filter = ["active"]
    search_fields = ["name", "url", "description"]
    list_select_related: list = []
    readonly_fields = [
        "secret_shown",
        "previous_secret_expires_at",
        "disabled_reason",
        "disabled_at",
        "failing_since",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "url", "event_types", "description", "active"]}),
        (_("Firma"), {"fields": ["secret_shown", "previous_secret_expires_at"]}),
        (_("Estado"), {"fields": ["disabled_reason", "disabled_at", "failing_since", "created_at", "updated_at"]}),
    ]
    inlines = [RecentDeliveryInline]
    actions = ["send_test_event", "rotate_secret", "enable_endpoint"]

    @admin.display(description=_("eventos"))
    def events_list(self, obj):
        return ", ".join(obj.event_types or [])

    @admin.display(description=_("secreto"))
    def secret_shown(self, obj):
        if not obj.pk:
            return _("Se genera al guardar.")
        return format_html(
            "<code>{}</code><br><span class='help'>{}</span>",
            obj.secret,
            _(
                "Standard Webhooks: HMAC-SHA256 con la parte base64 decodificada tras «whsec_». "
                "X-Emerald-Signature usa la misma clave."
            ),
        )

    @admin.action(description=_("Enviar evento de prueba"))
    def send_test_event(self, request, queryset):
        run_per_object(self, request, queryset, endpoints.send_test_event, _("evento de prueba encolado."))

    @admin.action(description=_("Rotar secreto (el anterior sigue firmando 24 h)"))
    def rotate_secret(self, request, queryset):
        run_per_object(self, request, queryset, endpoints.rotate_secret, _("secreto rotado."))

    @admin.action(description=_("Reactivar"))
    def enable_endpoint(self, request, queryset):
        run_per_object(self, request, queryset, endpoints.enable_endpoint, _("reactivado."))


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "attempted_at", "http_status", "response_ms", "response_body", "error"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "msg_id",
        "endpoint",
        "event_type",
        "status_badge",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event_type", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["msg_id", "event_type", "endpoint__name"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "endpoint",
        "event",
        "replay_of",
        "msg_id",
        "event_type",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "locked_until",
        "last_status_code",
        "last_error",
        "created_at",
        "first_attempt_at",
        "delivered_at",
    ]
    inlines = [WebhookAttemptInline]
    actions = ["retry_now", "replay"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("estado"), ordering="status")
    def status_badge(self, obj):
        return coloured_status(obj)

    @admin.action(description=_("Reintentar ahora"))
    def retry_now(self, request, queryset):
        run_per_object(self, request, queryset.select_related("endpoint"), outbound.retry_delivery_now, _("encolada."))

    @admin.action(description=_("Reenviar (nuevo mensaje con el mismo contenido)"))
    def replay(self, request, queryset):
        run_per_object(self, request, queryset.select_related("endpoint"), outbound.replay_delivery, _("reenviada."))


class InboundWebhookSourceForm(forms.ModelForm):
    # Write-only: the stored secret is never rendered back into the page.
    secret = forms.CharField(
        label=_("secreto"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Déjelo vacío para conservar el actual."),
    )

    class Meta:
        model = InboundWebhookSource
        fields = ["name", "slug", "scheme", "secret", "active"]

    def clean_secret(self):
        value = self.cleaned_data.get("secret")
        if value:
            return value
        if self.instance.pk:
            return self.instance.secret
        raise forms.ValidationError(_("El secreto es obligatorio."))


@admin.register(InboundWebhookSource)
class InboundWebhookSourceAdmin(admin.ModelAdmin):
    form = InboundWebhookSourceForm
    list_display = ["name", "slug", "scheme", "active", "created_at"]
    list_filter = ["scheme", "active"]
    search_fields = ["name", "slug"]
    list_select_related: list = []
    prepopulated_fields = {"slug": ["name"]}


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = ["webhook_id", "source", "event_type", "status_badge", "received_at", "processed_at"]
    list_filter = ["status", "source", "event_type"]
    list_select_related = ["source"]
    search_fields = ["webhook_id", "event_type"]
    readonly_fields = [
        "source",
        "webhook_id",
        "event_type",
        "headers",
        "payload",
        "status",
        "received_at",
        "processed_at",
        "error",
    ]
    actions = ["reprocess"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("estado"), ordering="status")
    def status_badge(self, obj):
        return coloured_status(obj)

    @admin.action(description=_("Reprocesar"))
    def reprocess(self, request, queryset):
        run_per_object(self, request, queryset, inbound.reprocess_inbound_event, _("encolado."))
