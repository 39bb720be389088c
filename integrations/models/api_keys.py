"""External API keys (hashed with SHA-512 by djangorestframework-api-key) and idempotency records."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey


class Scope(models.TextChoices):
    READ = "read", _("lectura")
    WRITE = "write", _("escritura")
    APPROVE = "approve", _("aprobación")


def default_scopes():
    return [Scope.READ]


class ExternalAPIKey(AbstractAPIKey):
    """A key for one external system; only its hash is stored, the key itself is shown once on creation."""

    system = models.CharField(_("sistema"), max_length=100, help_text=_("Sistema que usa la clave, p. ej. SAP."))
    scopes = models.JSONField(_("permisos"), default=default_scopes)
    auto_approve = models.BooleanField(
        _("aprobación automática"), default=False, help_text=_("Los movimientos creados con esta clave se aprueban.")
    )
    rate = models.CharField(_("límite de solicitudes"), max_length=20, default="1000/hour")
    last_used_at = models.DateTimeField(_("último uso"), null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("clave de API externa")
        verbose_name_plural = _("claves de API externas")

    def __str__(self):
        return f"{self.name} ({self.system})"

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class IdempotencyRecord(models.Model):
    """The first response to a POST carrying an Idempotency-Key, replayed for 24 h."""

    api_key = models.ForeignKey(ExternalAPIKey, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("registro de idempotencia")
        verbose_name_plural = _("registros de idempotencia")
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_unique_key_per_api_key")]

    def __str__(self):
        return f"{self.method} {self.path} [{self.key}]"
