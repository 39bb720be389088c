"""Admin of the inventory: articles (with the CSV import page), warehouses, stock, movements and alerts."""

import uuid
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import F, Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from erp.exceptions import DomainError
from inventory import imports, services
from inventory.models import AlertStatus, Article, Movement, MovementStatus, Stock, StockAlert, Warehouse

MAX_UPLOAD_BYTES = 100 * 1024 * 1024


def _actor(request) -> services.Actor:
    return services.Actor(user=request.user)


def _run_per_object(modeladmin, request, queryset, operation, done_message):
    """Apply a service to each object and report every failure by name; one failure never stops the rest."""
    ok = 0
    for obj in queryset:
        try:
            operation(obj)
            ok += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
    if ok:
        modeladmin.message_user(request, done_message % {"n": ok}, messages.SUCCESS)


class StockInline(admin.TabularInline):
    model = Stock
    extra = 0
    can_delete = False
    fields = ("warehouse", "quantity", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class CsvImportForm(forms.Form):
    file = forms.FileField(label=_("archivo CSV"))
    kind = forms.ChoiceField(label=_("tipo"), choices=[("articulos", _("Artículos")), ("stock", _("Stock"))])
    delimiter = forms.CharField(label=_("separador"), required=False, max_length=1, help_text=_("Vacío: se detecta."))
    encoding = forms.ChoiceField(label=_("codificación"), choices=[("utf-8", "UTF-8"), ("latin-1", "Latin-1")])
    on_error = forms.ChoiceField(
        label=_("filas con errores"),
        choices=[("abort", _("No importar nada")), ("skip", _("Importar las válidas y omitir las demás"))],
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("El archivo supera los 100 MB."))
        return upload


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "category", "material", "diameter_mm", "unit", "min_stock", "active", "updated_at")
    list_filter = ("active", "category", "material", "unit")
    search_fields = ("code", "name", "material", "external_ref")
    readonly_fields = ("created_at", "updated_at")
    inlines = [StockInline]
    change_list_template = "admin/inventory/article/change_list.html"

    def get_readonly_fields(self, request, obj=None):
        # The code is the ERP's key for the article: fixed once created.
        return (*self.readonly_fields, "code") if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in services.ARTICLE_FIELDS if name in form.cleaned_data}
        saved, _ = services.save_article(code=obj.code, **fields)
        obj.pk = saved.pk

    def get_urls(self):
        custom = [path("importar-csv/", self.admin_site.admin_view(self.import_csv_view), name="inventory_import_csv")]
        return custom + super().get_urls()

    def import_csv_view(self, request):
        """Upload → preview with row errors → confirm: the same import service as `manage.py import_csv`."""
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": _("Importar CSV")}
        if request.method == "POST" and request.POST.get("token"):
            return self._confirm_import(request)
        form = CsvImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            token = uuid.uuid4().hex
            stored = _upload_path(token)
            with stored.open("wb") as out:
                for chunk in form.cleaned_data["file"].chunks():
                    out.write(chunk)
            options = {k: form.cleaned_data[k] for k in ("kind", "delimiter", "encoding", "on_error")}
            try:
                preview = imports.import_file(stored, **_import_kwargs(options), dry_run=True)
            except imports.ImportFileError as exc:
                stored.unlink(missing_ok=True)
                form.add_error("file", str(exc))
            else:
                context.update(preview=preview, token=token, options=options, errors=preview.errors[:200])
                return TemplateResponse(request, "admin/inventory/import_preview.html", context)
        context["form"] = form
        return TemplateResponse(request, "admin/inventory/import_form.html", context)

    def _confirm_import(self, request):
        token = request.POST["token"]
        stored = _upload_path(token) if _is_token(token) else None
        if stored is None or not stored.exists():
            self.message_user(request, _("La vista previa venció; suba el archivo otra vez."), messages.ERROR)
            return redirect(reverse("admin:inventory_import_csv"))
        options = {k: request.POST.get(k, "") for k in ("kind", "delimiter", "encoding", "on_error")}
        try:
            result = imports.import_file(stored, **_import_kwargs(options), actor=_actor(request))
        except imports.ImportFileError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return redirect(reverse("admin:inventory_import_csv"))
        finally:
            stored.unlink(missing_ok=True)
        if result.written:
            self.message_user(request, _("Importación terminada: ") + result.summary(), messages.SUCCESS)
        else:
            self.message_user(request, _("No se importó nada: ") + result.summary(), messages.ERROR)
        return redirect(reverse("admin:inventory_article_changelist"))


def _is_token(token: str) -> bool:
    return len(token) == 32 and all(c in "0123456789abcdef" for c in token)


def _upload_path(token: str) -> Path:
    folder = Path(settings.VAR_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{token}.csv"


def _import_kwargs(options: dict) -> dict:
    return {
        "kind": options["kind"],
        "delimiter": options.get("delimiter") or None,
        "encoding": options.get("encoding") or "utf-8",
        "on_error": options.get("on_error") or "abort",
    }


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "active")
    search_fields = ("code", "name")
    list_filter = ("active",)


class BelowMinimumFilter(admin.SimpleListFilter):
    title = _("bajo mínimo")
    parameter_name = "below_min"

    def lookups(self, request, model_admin):
        return [("1", _("Sí")), ("0", _("No"))]

    def queryset(self, request, queryset):
        below = Q(article__min_stock__gt=0) & Q(quantity__lt=F("article__min_stock"))
        if self.value() == "1":
            return queryset.filter(below)
        if self.value() == "0":
            return queryset.exclude(below)
        return queryset


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = ("article", "warehouse", "quantity", "min_stock", "updated_at")
    list_filter = (BelowMinimumFilter, "warehouse")
    list_select_related = ("article", "warehouse")
    search_fields = ("article__code", "article__name")

    @admin.display(description=_("mínimo"))
    def min_stock(self, obj):
        return obj.article.min_stock

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MovementForm(forms.ModelForm):
    class Meta:
        model = Movement
        fields = ["kind", "article", "warehouse", "to_warehouse", "quantity", "direction", "reference"]

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                services.validate_movement(
                    data["kind"],
                    data["article"],
                    data["warehouse"],
                    data["quantity"],
                    data.get("to_warehouse"),
                    data.get("direction") or 1,
                )
            except DomainError as exc:
                raise forms.ValidationError(exc.message) from None
        return data


@admin.register(Movement)
class MovementAdmin(admin.ModelAdmin):
    form = MovementForm
    list_display = (
        "id",
        "kind",
        "article",
        "warehouse",
        "to_warehouse",
        "quantity",
        "status",
        "reference",
        "created_by_label",
        "created_at",
    )
    list_filter = ("status", "kind", "warehouse")
    list_select_related = ("article", "warehouse", "to_warehouse", "created_by")
    search_fields = ("article__code", "article__name", "reference", "created_by_key")
    date_hierarchy = "created_at"
    actions = ["approve", "reject"]
    readonly_fields = (
        "status",
        "created_by",
        "created_by_key",
        "approved_by",
        "approved_by_key",
        "decided_at",
        "rejection_reason",
        "created_at",
        "updated_at",
    )
    fields = ("kind", "article", "warehouse", "to_warehouse", "quantity", "direction", "reference", *readonly_fields)

    @admin.display(description=_("creado por"))
    def created_by_label(self, obj):
        return obj.created_by_label

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = services.create_movement(
            kind=obj.kind,
            article=obj.article,
            warehouse=obj.warehouse,
            to_warehouse=obj.to_warehouse,
            quantity=obj.quantity,
            direction=obj.direction,
            reference=obj.reference,
            actor=_actor(request),
        )
        obj.pk = saved.pk

    @admin.action(description=_("Aprobar los movimientos seleccionados"))
    def approve(self, request, queryset):
        _run_per_object(
            self,
            request,
            queryset.filter(status=MovementStatus.PENDING).order_by("pk"),
            lambda m: services.approve_movement(m.pk, actor=_actor(request)),
            _("%(n)d movimientos aprobados."),
        )

    @admin.action(description=_("Rechazar los movimientos seleccionados"))
    def reject(self, request, queryset):
        _run_per_object(
            self,
            request,
            queryset.filter(status=MovementStatus.PENDING),
            lambda m: services.reject_movement(m.pk, actor=_actor(request)),
            _("%(n)d movimientos rechazados."),
        )


@admin.register(StockAlert)
class StockAlertAdmin(admin.ModelAdmin):
    list_display = ("article", "warehouse", "status", "quantity", "min_stock", "created_at", "resolved_at")
    list_filter = ("status", "warehouse")
    list_select_related = ("article", "warehouse")
    search_fields = ("article__code", "article__name")
    actions = ["acknowledge"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Marcar como reconocidas"))
    def acknowledge(self, request, queryset):
        _run_per_object(
            self,
            request,
            queryset.filter(status=AlertStatus.OPEN),
            lambda a: services.acknowledge_alert(a.pk, actor=_actor(request)),
            _("%(n)d alertas reconocidas."),
        )
