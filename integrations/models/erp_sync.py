"""ERP synchronisation: the connection (URL, encrypted key), one record per synced item, one row per run."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from erp.fields import EncryptedTextField


class ErpConnection(models.Model):
    name = models.CharField(_("nombre"), max_length=100, unique=True)
    base_url = models.URLField(_("URL base"), help_text=_("p. ej. https://sap.empresa.com"))
    api_key = EncryptedTextField(_("clave de API"), help_text=_("Se guarda cifrada y no se vuelve a mostrar."))
    enabled = models.BooleanField(_("habilitada"), default=True)
    page_size = models.PositiveIntegerField(_("tamaño de página"), default=100)
    timeout_s = models.PositiveIntegerField(_("timeout (s)"), default=10)
    push_since = models.DateTimeField(
        _("enviar movimientos desde"),
        default=timezone.now,
        help_text=_("Solo se envían al ERP los movimientos aprobados desde esta fecha."),
    )
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)

    class Meta:
        verbose_name = _("conexión ERP")
        verbose_name_plural = _("conexiones ERP")

    def __str__(self):
        return self.name


class SyncKind(models.TextChoices):
    ARTICLE = "articulo", _("Artículo")
    STOCK = "stock", _("Stock")
    MOVEMENT = "movimiento", _("Movimiento")


class SyncStatus(models.TextChoices):
    PENDING = "PENDIENTE", _("Pendiente")
    SYNCED = "SINCRONIZADO", _("Sincronizado")
    ERROR = "ERROR", _("Error")


class ErpSyncRecord(models.Model):
    """The spec's SincronizacionERP: where each item stands; an ERROR is retried on the next run."""

    connection = models.ForeignKey(ErpConnection, on_delete=models.CASCADE, related_name="records", null=True)
    kind = models.CharField(_("tipo"), max_length=20, choices=SyncKind.choices)
    external_ref = models.CharField(_("referencia externa"), max_length=255)
    internal_ref = models.CharField(_("referencia interna"), max_length=255, blank=True)
    status = models.CharField(_("estado"), max_length=20, choices=SyncStatus.choices, default=SyncStatus.PENDING)
    data = models.JSONField(_("datos"), default=dict)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveIntegerField(_("intentos"), default=0)
    synced_at = models.DateTimeField(_("sincronizado el"), null=True, blank=True)
    updated_at = models.DateTimeField(_("actualizado"), auto_now=True)

    class Meta:
        verbose_name = _("registro de sincronización ERP")
        verbose_name_plural = _("registros de sincronización ERP")
        constraints = [models.UniqueConstraint(fields=["kind", "external_ref"], name="erp_sync_unique_kind_ref")]
        indexes = [models.Index(fields=["kind", "status"])]

    def __str__(self):
        return f"{self.kind} {self.external_ref}: {self.status}"


class ErpSyncRun(models.Model):
    connection = models.ForeignKey(ErpConnection, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField(_("inicio"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("fin"), null=True, blank=True)
    ok = models.BooleanField(_("exitosa"), default=False)
    counts = models.JSONField(_("conteos"), default=dict)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("ejecución de sincronización ERP")
        verbose_name_plural = _("ejecuciones de sincronización ERP")
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.connection} {self.started_at:%Y-%m-%d %H:%M}"
