"""IntegrationLog: one row per exchange with an external system, redacted before it is stored."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LogStatus(models.TextChoices):
    OK = "ok", _("exitoso")
    ERROR = "error", _("fallido")


class IntegrationLog(models.Model):
    """The spec's LogIntegracion: what was asked, what came back, how long it took."""

    system = models.CharField(_("sistema"), max_length=50, db_index=True)
    kind = models.CharField(_("tipo"), max_length=50, db_index=True)
    status = models.CharField(_("estado"), max_length=8, choices=LogStatus.choices, db_index=True)
    request_summary = models.JSONField(_("solicitud"), default=dict, blank=True)
    response_summary = models.JSONField(_("respuesta"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duración (ms)"), default=0)
    created_at = models.DateTimeField(_("fecha"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("registro de integración")
        verbose_name_plural = _("registros de integración")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["system", "created_at"], name="integration_log_system_time")]

    def __str__(self):
        return f"{self.system} {self.kind} {self.status}"
