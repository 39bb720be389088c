"""Admin for the integration log: read-only, filterable."""

from django.contrib import admin

from integrations.models import IntegrationLog


@admin.register(IntegrationLog)
class IntegrationLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "system", "kind", "status", "duration_ms", "error_excerpt"]
    list_filter = ["status", "system", "kind"]
    list_select_related: list = []
    search_fields = ["system", "kind", "error"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in IntegrationLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="error")
    def error_excerpt(self, obj):
        return obj.error[:80]
