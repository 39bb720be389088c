"""Provisioning data: plans, customers, their services, the MikroTik routers and the audit of router changes."""

import contextlib
import re

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from erp.fields import EncryptedTextField
from erp.models import TimeStamped

MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}([:\-]?)(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")
RATE_PAIR_RE = r"^\d+(?:\.\d+)?[kKMG]?(/\d+(?:\.\d+)?[kKMG]?)?$"


def normalize_mac(value: str) -> str:
    """``aa-bb-cc-dd-ee-ff`` / ``aabbccddeeff`` → ``AA:BB:CC:DD:EE:FF``; raises ValueError otherwise."""
    text = (value or "").strip()
    if not MAC_RE.match(text):
        raise ValueError(value)
    digits = re.sub(r"[:\-]", "", text).upper()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


class Plan(TimeStamped):
    name = models.CharField(_("nombre"), max_length=120)
    code = models.CharField(_("código"), max_length=50, unique=True)
    download_mbps = models.PositiveIntegerField(_("bajada (Mbps)"), validators=[MinValueValidator(1)])
    upload_mbps = models.PositiveIntegerField(_("subida (Mbps)"), validators=[MinValueValidator(1)])
    external_id = models.CharField(_("ID externo"), max_length=100, blank=True, db_index=True)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("planes")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(download_mbps__gt=0) & Q(upload_mbps__gt=0), name="plan_speeds_positive"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.download_mbps}/{self.upload_mbps} Mbps)"


class Customer(TimeStamped):
    class Status(models.TextChoices):
        ACTIVO = "activo", _("Activo")
        SUSPENDIDO = "suspendido", _("Suspendido")
        DADO_DE_BAJA = "dado_de_baja", _("Dado de baja")

    code = models.CharField(_("código"), max_length=50, unique=True)
    name = models.CharField(_("nombre"), max_length=200)
    document_number = models.CharField(_("número de documento"), max_length=30, blank=True, db_index=True)
    address = models.CharField(_("dirección"), max_length=255, blank=True)
    email = models.EmailField(_("correo electrónico"), blank=True)
    status = models.CharField(_("estado"), max_length=20, choices=Status.choices, default=Status.ACTIVO)
    external_id = models.CharField(_("ID externo"), max_length=100, blank=True, db_index=True)

    class Meta:
        verbose_name = _("cliente")
        verbose_name_plural = _("clientes")
        ordering = ["name"]

    def __str__(self):
        return f"{self.code} · {self.name}"


class Router(TimeStamped):
    class TlsMode(models.TextChoices):
        VERIFY = "verify", _("Verificar certificado (CA o almacén del sistema)")
        FINGERPRINT = "fingerprint", _("Fijar huella SHA-256 del certificado")
        ANONYMOUS = "anonymous", _("Anónimo (ADH, sin autenticar al router)")

    class SuspendAction(models.TextChoices):
        DISABLE_QUEUE = "disable_queue", _("Deshabilitar la cola")
        LIMIT_QUEUE = "limit_queue", _("Limitar la cola")

    class ActivateAction(models.TextChoices):
        ENABLE_QUEUE = "enable_queue", _("Habilitar la cola")

    class Encoding(models.TextChoices):
        UTF8 = "utf-8", "UTF-8"
        LATIN1 = "latin-1", "Latin-1 (Windows)"

    name = models.CharField(_("nombre"), max_length=100, unique=True)
    enabled = models.BooleanField(_("habilitado"), default=True)
    host = models.CharField(_("host"), max_length=255)
    port = models.PositiveIntegerField(
        _("puerto"),
        default=8728,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
        help_text=_("8728 para la API; 8729 para API-SSL."),
    )
    username = models.CharField(_("usuario"), max_length=100)
    password = EncryptedTextField(_("contraseña"), blank=True)
    use_ssl = models.BooleanField(_("usar SSL"), default=False)
    tls_mode = models.CharField(_("modo TLS"), max_length=20, choices=TlsMode.choices, default=TlsMode.VERIFY)
    ca_certificate = models.TextField(
        _("certificado CA (PEM)"), blank=True, help_text=_("Vacío: el almacén de certificados del sistema.")
    )
    tls_fingerprint = models.CharField(
        _("huella SHA-256 del certificado"),
        max_length=95,
        blank=True,
        help_text=_("Hexadecimal, con o sin ':' (modo «fijar huella»)."),
    )
    encoding = models.CharField(
        _("codificación de texto"),
        max_length=10,
        choices=Encoding.choices,
        default=Encoding.UTF8,
        help_text=_("Cómo viajan los comentarios con acentos (nombres de clientes)."),
    )
    timeout_s = models.PositiveSmallIntegerField(
        _("timeout (s)"), default=10, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    dhcp_enabled = models.BooleanField(_("amarrar IP en DHCP"), default=True)
    dhcp_server = models.CharField(_("servidor DHCP"), max_length=100, default="dhcp1")
    queue_enabled = models.BooleanField(_("crear Simple Queues"), default=True)
    queue_name_prefix = models.CharField(_("prefijo de colas"), max_length=30, blank=True, default="")
    suspend_action = models.CharField(
        _("acción al suspender"), max_length=20, choices=SuspendAction.choices, default=SuspendAction.DISABLE_QUEUE
    )
    suspend_limit = models.CharField(
        _("límite al suspender"),
        max_length=40,
        default="64k/64k",
        validators=[RegexValidator(RATE_PAIR_RE, _("Use subida/bajada, p. ej. 64k/64k."))],
    )
    activate_action = models.CharField(
        _("acción al activar"), max_length=20, choices=ActivateAction.choices, default=ActivateAction.ENABLE_QUEUE
    )

    class Meta:
        verbose_name = _("router")
        verbose_name_plural = _("routers")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def queue_name(self, service_id: int) -> str:
        return f"{self.queue_name_prefix}{service_id}"


class Service(TimeStamped):
    class Status(models.TextChoices):
        PENDIENTE = "pendiente", _("Pendiente")
        ACTIVO = "activo", _("Activo")
        SUSPENDIDO = "suspendido", _("Suspendido")
        DADO_DE_BAJA = "dado_de_baja", _("Dado de baja")

    customer = models.ForeignKey(Customer, models.PROTECT, related_name="services", verbose_name=_("cliente"))
    plan = models.ForeignKey(
        Plan, models.PROTECT, related_name="services", null=True, blank=True, verbose_name=_("plan")
    )
    router = models.ForeignKey(
        Router, models.PROTECT, related_name="services", null=True, blank=True, verbose_name=_("router")
    )
    ip_address = models.GenericIPAddressField(_("dirección IP"), protocol="IPv4", null=True, blank=True)
    mac_address = models.CharField(_("dirección MAC"), max_length=17, blank=True)
    pppoe_username = models.CharField(_("usuario PPPoE"), max_length=100, blank=True)
    status = models.CharField(
        _("estado"), max_length=20, choices=Status.choices, default=Status.PENDIENTE, db_index=True
    )
    provisioned_at = models.DateTimeField(_("aprovisionado el"), null=True, blank=True)
    last_error = models.TextField(_("último error"), blank=True)
    external_id = models.CharField(_("ID externo"), max_length=100, blank=True, db_index=True)

    class Meta:
        verbose_name = _("servicio")
        verbose_name_plural = _("servicios")
        ordering = ["-id"]
        # The pre-check "is this IP another live service's?" must not scan the table (bulk provisioning).
        indexes = [models.Index(fields=["router", "ip_address"], name="service_router_ip_idx")]
        constraints = [
            # One live service per address on a router; removed services keep their history.
            models.UniqueConstraint(
                fields=["router", "ip_address"],
                condition=Q(ip_address__isnull=False) & ~Q(status="dado_de_baja"),
                name="service_unique_live_ip_per_router",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.customer.name}" if self.customer_id else f"#{self.pk}"

    def save(self, *args, **kwargs):
        # The spec stores MACs in one form so lookups and comparisons with the router never disagree.
        if self.mac_address:
            # Left as typed when invalid: form and service validation report it.
            with contextlib.suppress(ValueError):
                self.mac_address = normalize_mac(self.mac_address)
        super().save(*args, **kwargs)

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.mac_address:
            try:
                self.mac_address = normalize_mac(self.mac_address)
            except ValueError:
                raise ValidationError({"mac_address": _("MAC inválida (use AA:BB:CC:DD:EE:FF).")}) from None


class RouterOperation(models.Model):
    """One change attempted on a router, successful or not (parameters never hold secrets)."""

    class Operation(models.TextChoices):
        BIND_IP = "bind_ip", _("Amarrar IP")
        CREATE_QUEUE = "create_queue", _("Crear cola")
        PROVISION = "provision", _("Aprovisionar")
        SUSPEND = "suspend", _("Suspender")
        ACTIVATE = "activate", _("Activar")
        UPDATE_SPEED = "update_speed", _("Cambiar velocidad")
        DEPROVISION = "deprovision", _("Dar de baja")
        ENABLE_QUEUE = "enable_queue", _("Habilitar cola")
        DISABLE_QUEUE = "disable_queue", _("Deshabilitar cola")
        DELETE_QUEUE = "delete_queue", _("Eliminar cola")

    router = models.ForeignKey(Router, models.CASCADE, related_name="operations", verbose_name=_("router"))
    service = models.ForeignKey(
        Service, models.SET_NULL, null=True, blank=True, related_name="operations", verbose_name=_("servicio")
    )
    operation = models.CharField(_("operación"), max_length=20, choices=Operation.choices)
    params = models.JSONField(_("parámetros"), default=dict, blank=True)
    success = models.BooleanField(_("éxito"), default=False)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duración (ms)"), default=0)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("usuario")
    )
    created_at = models.DateTimeField(_("fecha"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("operación en router")
        verbose_name_plural = _("operaciones en routers")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_operation_display()} · {self.router} · {'OK' if self.success else 'error'}"
