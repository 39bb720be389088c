"""Admin of the ERP synchronisation: connections (key write-only, "Sincronizar ahora"), records and runs."""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _

from erp.exceptions import DomainError
from integrations.models.erp_sync import ErpConnection, ErpSyncRecord, ErpSyncRun
from integrations.tasks import sync_erp_task


class ErpConnectionForm(forms.ModelForm):
    base_url = forms.URLField(label=_("URL base"), assume_scheme="https", help_text=_("p. ej. https://sap.empresa.com"))
    api_key = forms.CharField(
        label=_("clave de API"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Se guarda cifrada. Déjela vacía para conservar la actual."),
    )

    class Meta:
        model = ErpConnection
        fields = ["name", "base_url", "api_key", "enabled", "page_size", "timeout_s", "push_since"]

    def clean_api_key(self):
        value = self.cleaned_data.get("api_key", "")
        if not value and not (self.instance and self.instance.pk):
            raise forms.ValidationError(_("La clave de API es obligatoria."))
        # Blank on edit keeps the stored key: it is never sent back to the browser.
        return value or self.instance.api_key


@admin.register(ErpConnection)
class ErpConnectionAdmin(admin.ModelAdmin):
    # Typed without a scheme, a URL means https (Django 6's default; explicit now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    form = ErpConnectionForm
    list_display = ("name", "base_url", "enabled", "page_size", "last_run")
    search_fields = ("name", "base_url")
    list_filter = ("enabled",)
    actions = ["sync_now"]

    @admin.display(description=_("última ejecución"))
    def last_run(self, obj):
        run = obj.runs.first()
        if run is None:
            return "—"
        return f"{run.started_at:%Y-%m-%d %H:%M} · {'OK' if run.ok else 'con errores'}"

    @admin.action(description=_("Sincronizar ahora"))
    def sync_now(self, request, queryset):
        for connection in queryset:
            try:
                sync_erp_task.delay(connection.pk)
            except DomainError as exc:
                self.message_user(request, f"{connection}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, _("%(c)s: sincronización iniciada.") % {"c": connection}, messages.SUCCESS)


@admin.register(ErpSyncRecord)
class ErpSyncRecordAdmin(admin.ModelAdmin):
    list_display = ("kind", "external_ref", "internal_ref", "status", "attempts", "synced_at", "error")
    list_filter = ("kind", "status", "connection")
    list_select_related = ("connection",)
    search_fields = ("external_ref", "internal_ref", "error")
    readonly_fields = [f.name for f in ErpSyncRecord._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ErpSyncRun)
class ErpSyncRunAdmin(admin.ModelAdmin):
    list_display = ("connection", "started_at", "finished_at", "ok", "counts", "error")
    list_filter = ("ok", "connection")
    list_select_related = ("connection",)
    search_fields = ("connection__name", "error")
    readonly_fields = [f.name for f in ErpSyncRun._meta.fields]

    def has_add_permission(self, request):
        return False
