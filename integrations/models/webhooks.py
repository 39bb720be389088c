"""Outbound webhooks (endpoints, deliveries, attempts) and inbound webhook sources and events."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from erp.events import CATALOG
from erp.fields import EncryptedTextField
from erp.models import TimeStamped
from integrations.webhooks.signing import generate_secret


class WebhookEndpoint(TimeStamped):
    """A receiver of Emerald's events, managed by staff in the admin."""

    name = models.CharField(_("nombre"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    event_types = models.JSONField(_("eventos suscriptos"), default=list)
    # Encrypted at rest; shown to staff in the admin because the receiver needs it to verify signatures.
    secret = EncryptedTextField(_("secreto"), blank=True)
    previous_secret = EncryptedTextField(_("secreto anterior"), blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(_("secreto anterior vigente hasta"), null=True, blank=True)
    active = models.BooleanField(_("activo"), default=True)
    description = models.TextField(_("descripción"), blank=True)
    disabled_reason = models.TextField(_("motivo de desactivación"), blank=True)
    disabled_at = models.DateTimeField(_("desactivado"), null=True, blank=True)
    failing_since = models.DateTimeField(_("falla desde"), null=True, blank=True)

    class Meta:
        verbose_name = _("endpoint de webhook")
        verbose_name_plural = _("endpoints de webhook")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        unknown = sorted(set(self.event_types or []) - set(CATALOG))
        if not isinstance(self.event_types, list) or not self.event_types:
            raise ValidationError({"event_types": _("Elija al menos un tipo de evento.")})
        if unknown:
            raise ValidationError(
                {"event_types": _("Eventos desconocidos: %(names)s.") % {"names": ", ".join(unknown)}}
            )

    def save(self, *args, **kwargs):
        if not self.secret:  # generated on creation, the Standard Webhooks way (whsec_ + base64)
            self.secret = generate_secret()
        super().save(*args, **kwargs)

    def signing_secrets(self, now=None) -> list[str]:
        """The current secret, plus the previous one while its rotation window lasts."""
        now = now or timezone.now()
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(self.previous_secret)
        return secrets


class DeliveryStatus(models.TextChoices):
    PENDING = "pendiente", _("pendiente")
    DELIVERED = "entregado", _("entregado")
    FAILED = "fallido", _("fallido")
    DISCARDED = "descartado", _("descartado")


class WebhookDelivery(models.Model):
    """One event for one endpoint; its msg_id is the webhook-id of every attempt."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    event = models.ForeignKey(
        "erp.OutboxEvent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("evento"),
    )
    replay_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replays", verbose_name=_("reenvío de")
    )
    msg_id = models.CharField(_("id de mensaje"), max_length=64, unique=True)
    event_type = models.CharField(_("tipo de evento"), max_length=64, db_index=True)
    payload = models.JSONField(_("cuerpo"))
    status = models.CharField(
        _("estado"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("intentos"), default=0)
    next_attempt_at = models.DateTimeField(_("próximo intento"), null=True, blank=True)
    # locked_until: a sender holds the row until then (one attempt in flight); expiry frees it if the worker died.
    locked_until = models.DateTimeField(_("bloqueado hasta"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("último código HTTP"), null=True, blank=True)
    last_error = models.TextField(_("último error"), blank=True)
    created_at = models.DateTimeField(_("creado"), default=timezone.now, db_index=True)
    first_attempt_at = models.DateTimeField(_("primer intento"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("entregado"), null=True, blank=True)

    class Meta:
        verbose_name = _("entrega de webhook")
        verbose_name_plural = _("entregas de webhook")
        ordering = ["-id"]
        indexes = [
            # Partial: senders poll it several times a second, and only pending rows are ever due. Rows that
            # leave `pendiente` leave this index too, so it stays the size of the queue, not of the history.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(status="pendiente"),
                name="webhook_delivery_due",
            )
        ]
        constraints = [
            # One delivery per (event, endpoint) from the fan-out; replays are extra rows on purpose.
            models.UniqueConstraint(
                fields=["endpoint", "event"],
                condition=models.Q(replay_of__isnull=True, event__isnull=False),
                name="webhook_delivery_once_per_event",
            )
        ]

    def __str__(self):
        return f"{self.event_type} → {self.endpoint_id} ({self.msg_id})"


class WebhookAttempt(models.Model):
    """One HTTP POST of a delivery and what came back."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_set", verbose_name=_("entrega")
    )
    number = models.PositiveSmallIntegerField(_("número"))
    attempted_at = models.DateTimeField(_("fecha"), default=timezone.now)
    http_status = models.PositiveSmallIntegerField(_("código HTTP"), null=True, blank=True)
    response_ms = models.PositiveIntegerField(_("tiempo de respuesta (ms)"), default=0)
    response_body = models.TextField(_("respuesta (primer KB)"), blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("intento de entrega")
        verbose_name_plural = _("intentos de entrega")
        ordering = ["delivery", "number"]

    def __str__(self):
        return f"#{self.number} {self.http_status or self.error[:40]}"

    @property
    def succeeded(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


class InboundScheme(models.TextChoices):
    STANDARD = "standard", _("Standard Webhooks (webhook-id / webhook-timestamp / webhook-signature)")
    HEX_SHA256 = "hex-sha256", _("X-Signature: sha256=<hex> sobre el cuerpo")


class InboundWebhookSource(TimeStamped):
    """A system allowed to push to /api/webhooks/inbound/<slug>/ with a shared secret."""

    name = models.CharField(_("nombre"), max_length=100)
    slug = models.SlugField(_("identificador"), max_length=50, unique=True)
    secret = EncryptedTextField(_("secreto"))
    scheme = models.CharField(_("esquema de firma"), max_length=16, choices=InboundScheme.choices)
    active = models.BooleanField(_("activo"), default=True)

    class Meta:
        verbose_name = _("origen de webhooks entrantes")
        verbose_name_plural = _("orígenes de webhooks entrantes")
        ordering = ["name"]

    def __str__(self):
        return self.name


class InboundStatus(models.TextChoices):
    RECEIVED = "recibido", _("recibido")
    PROCESSING = "procesando", _("procesando")
    PROCESSED = "procesado", _("procesado")
    IGNORED = "ignorado", _("ignorado (sin manejador)")
    ERROR = "error", _("error")


class InboundEvent(models.Model):
    """One verified push; unique per (source, webhook_id) so a replay is never processed twice."""

    source = models.ForeignKey(
        InboundWebhookSource, on_delete=models.CASCADE, related_name="events", verbose_name=_("origen")
    )
    webhook_id = models.CharField(_("id del webhook"), max_length=128)
    event_type = models.CharField(_("tipo de evento"), max_length=100, blank=True, db_index=True)
    headers = models.JSONField(_("encabezados (redactados)"), default=dict)
    payload = models.JSONField(_("cuerpo"), null=True)
    status = models.CharField(
        _("estado"), max_length=16, choices=InboundStatus.choices, default=InboundStatus.RECEIVED, db_index=True
    )
    received_at = models.DateTimeField(_("recibido"), default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(_("procesado"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("webhook entrante")
        verbose_name_plural = _("webhooks entrantes")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["source", "webhook_id"], name="inbound_event_unique_webhook_id")]

    def __str__(self):
        return f"{self.source_id}:{self.webhook_id}"
