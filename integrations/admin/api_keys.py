"""Admin for external API keys: the key is shown once when created; revoke is an action."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from integrations import api_keys
from integrations.models import ExternalAPIKey
from integrations.models.api_keys import Scope

# The library registers its own generic key model; Emerald only uses ExternalAPIKey.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


class ExternalAPIKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("permisos"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[Scope.READ]
    )

    class Meta:
        model = ExternalAPIKey
        fields = ["name", "system", "scopes", "auto_approve", "rate", "expiry_date", "revoked"]

    def clean_rate(self):
        from rest_framework.throttling import SimpleRateThrottle

        rate = self.cleaned_data["rate"]
        try:
            SimpleRateThrottle.parse_rate(None, rate)
        except (ValueError, KeyError, IndexError):
            raise forms.ValidationError(_("Use el formato cantidad/período, p. ej. 1000/hour o 60/min.")) from None
        return rate


@admin.register(ExternalAPIKey)
class ExternalAPIKeyAdmin(APIKeyModelAdmin):
    form = ExternalAPIKeyForm
    list_display = (
        "prefix",
        "name",
        "system",
        "scope_list",
        "auto_approve",
        "rate",
        "expiry_date",
        "revoked",
        "last_used_at",
    )
    list_filter = ("system", "revoked", "auto_approve")
    search_fields = ("name", "system", "prefix")
    readonly_fields = ("prefix", "last_used_at", "created")
    actions = ["revoke"]

    @admin.display(description=_("permisos"))
    def scope_list(self, obj):
        return ", ".join(obj.scopes or [])

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        key = ExternalAPIKey.objects.assign_key(obj)
        obj.save()
        # Shown exactly once: only the hash is stored, so this message is the only copy of the key.
        self.message_user(
            request,
            _("La clave de API para «%(name)s» es: %(key)s — guárdela ahora, no se volverá a mostrar.")
            % {"name": obj.name, "key": key},
            messages.WARNING,
        )

    @admin.action(description=_("Revocar las claves seleccionadas"))
    def revoke(self, request, queryset):
        for api_key in queryset:
            api_keys.revoke_key(api_key)
        self.message_user(request, _("%(n)d claves revocadas.") % {"n": queryset.count()}, messages.SUCCESS)
