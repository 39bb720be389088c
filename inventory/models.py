"""Inventory data: articles, warehouses, stock per warehouse, movements with approval, low-stock alerts."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from erp.models import TimeStamped

QUANTITY = {"max_digits": 14, "decimal_places": 3}


class Article(TimeStamped):
    """A stock-keeping unit. Codes are stored upper-case, so lookups are case-insensitive."""

    code = models.CharField(_("código"), max_length=64, unique=True)
    name = models.CharField(_("nombre"), max_length=200)
    category = models.CharField(_("categoría"), max_length=100, blank=True, db_index=True)
    unit = models.CharField(_("unidad"), max_length=20, default="un")
    material = models.CharField(_("material"), max_length=100, blank=True, db_index=True)
    diameter_mm = models.DecimalField(_("diámetro (mm)"), max_digits=8, decimal_places=2, null=True, blank=True)
    min_stock = models.DecimalField(_("stock mínimo"), default=Decimal("0"), **QUANTITY)
    active = models.BooleanField(_("activo"), default=True)
    external_ref = models.CharField(_("referencia externa"), max_length=100, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("artículo")
        verbose_name_plural = _("artículos")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(min_stock__gte=0), name="article_min_stock_not_negative"),
            models.CheckConstraint(condition=~Q(code=""), name="article_code_not_empty"),
        ]

    def __str__(self):
        return f"{self.code} · {self.name}"

    def save(self, *args, **kwargs):
        self.code = normalize_code(self.code)
        self.external_ref = self.external_ref or None
        super().save(*args, **kwargs)


def normalize_code(code: str) -> str:
    return (code or "").strip().upper()


def format_quantity(value) -> str:
    """Quantities leave Emerald with three decimals, however they were typed."""
    return f"{Decimal(value):.3f}"


class Warehouse(TimeStamped):
    code = models.CharField(_("código"), max_length=32, unique=True)
    name = models.CharField(_("nombre"), max_length=100)
    active = models.BooleanField(_("activo"), default=True)

    class Meta:
        verbose_name = _("depósito")
        verbose_name_plural = _("depósitos")
        ordering = ["code"]

    def __str__(self):
        return self.code

    def save(self, *args, **kwargs):
        self.code = normalize_code(self.code)
        super().save(*args, **kwargs)


class Stock(models.Model):
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="stock", verbose_name=_("artículo"))
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock", verbose_name=_("depósito"))
    quantity = models.DecimalField(_("cantidad"), default=Decimal("0"), **QUANTITY)
    updated_at = models.DateTimeField(_("actualizado"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stock")
        ordering = ["article__code", "warehouse__code"]
        constraints = [
            models.UniqueConstraint(fields=["article", "warehouse"], name="stock_one_row_per_article_warehouse"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stock_quantity_not_negative"),
        ]

    def __str__(self):
        return f"{self.article.code} @ {self.warehouse.code}: {self.quantity}"


class MovementKind(models.TextChoices):
    IN = "entrada", _("Entrada")
    OUT = "salida", _("Salida")
    ADJUSTMENT = "ajuste", _("Ajuste")
    TRANSFER = "transferencia", _("Transferencia")


class MovementStatus(models.TextChoices):
    PENDING = "pendiente", _("Pendiente")
    APPROVED = "aprobado", _("Aprobado")
    REJECTED = "rechazado", _("Rechazado")


class Movement(TimeStamped):
    """A change of stock; it touches stock only when approved. `direction` says whether an ajuste adds or removes."""

    kind = models.CharField(_("tipo"), max_length=20, choices=MovementKind.choices, db_index=True)
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="movements", verbose_name=_("artículo"))
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="movements", verbose_name=_("depósito")
    )
    to_warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        related_name="incoming_transfers",
        null=True,
        blank=True,
        verbose_name=_("depósito destino"),
    )
    quantity = models.DecimalField(_("cantidad"), **QUANTITY)
    direction = models.SmallIntegerField(_("sentido"), default=1, help_text=_("+1 suma stock, -1 lo resta"))
    status = models.CharField(
        _("estado"), max_length=20, choices=MovementStatus.choices, default=MovementStatus.PENDING, db_index=True
    )
    reference = models.CharField(_("referencia"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("creado por"),
    )
    created_by_key = models.CharField(_("creado por clave de API"), max_length=150, blank=True, db_index=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("aprobado por"),
    )
    approved_by_key = models.CharField(_("aprobado por clave de API"), max_length=150, blank=True)
    decided_at = models.DateTimeField(_("fecha de decisión"), null=True, blank=True)
    rejection_reason = models.CharField(_("motivo de rechazo"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("movimiento")
        verbose_name_plural = _("movimientos")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="movement_quantity_positive"),
            models.CheckConstraint(condition=Q(direction__in=[1, -1]), name="movement_direction_is_sign"),
            models.CheckConstraint(
                condition=~Q(kind="transferencia")
                | (Q(to_warehouse__isnull=False) & ~Q(to_warehouse=models.F("warehouse"))),
                name="movement_transfer_needs_other_warehouse",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()} {self.article_id} x {self.quantity}"

    @property
    def created_by_label(self) -> str:
        return self.created_by_key or (str(self.created_by) if self.created_by_id else "")


class AlertStatus(models.TextChoices):
    OPEN = "abierta", _("Abierta")
    ACKNOWLEDGED = "reconocida", _("Reconocida")
    RESOLVED = "resuelta", _("Resuelta")


class StockAlert(TimeStamped):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("artículo"))
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("depósito")
    )
    status = models.CharField(
        _("estado"), max_length=20, choices=AlertStatus.choices, default=AlertStatus.OPEN, db_index=True
    )
    quantity = models.DecimalField(_("cantidad al generarse"), **QUANTITY)
    min_stock = models.DecimalField(_("umbral mínimo"), **QUANTITY)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(_("reconocida el"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resuelta el"), null=True, blank=True)

    class Meta:
        verbose_name = _("alerta de stock")
        verbose_name_plural = _("alertas de stock")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "warehouse"],
                condition=Q(status__in=["abierta", "reconocida"]),
                name="alert_one_open_per_article_warehouse",
            ),
        ]

    def __str__(self):
        return f"{self.article.code} @ {self.warehouse.code} ({self.get_status_display()})"
