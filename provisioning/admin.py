"""Admin of provisioning: routers (test, live leases and queues), services (provision from a live lease, actions)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from erp.exceptions import DomainError
from provisioning import services
from provisioning.models import Customer, Plan, Router, RouterOperation, Service


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "download_mbps", "upload_mbps", "external_id"]
    list_select_related = True
    search_fields = ["name", "code", "external_id"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "document_number", "email", "status"]
    list_filter = ["status"]
    list_select_related = True
    search_fields = ["code", "name", "document_number", "email", "external_id"]


class RouterForm(forms.ModelForm):
    # Write-only: the stored password is never rendered back into the page.
    password = forms.CharField(
        label=_("contraseña"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Vacío conserva la contraseña guardada."),
    )

    class Meta:
        model = Router
        fields = [
            "name", "enabled", "host", "port", "username", "password", "use_ssl", "tls_mode", "ca_certificate",
            "tls_fingerprint", "encoding", "timeout_s", "dhcp_enabled", "dhcp_server", "queue_enabled",
            "queue_name_prefix", "suspend_action", "suspend_limit", "activate_action",
        ]  # fmt: skip

    def clean_password(self):
        password = self.cleaned_data.get("password")
        if not password:
            if not self.instance.pk:
                raise forms.ValidationError(_("Requerida al crear un router."))
            return self.instance.password
        return password


@admin.register(Router)
class RouterAdmin(admin.ModelAdmin):
    form = RouterForm
    list_display = ["name", "host", "port", "enabled", "tls", "dhcp_enabled", "queue_enabled", "live_links"]
    list_filter = ["enabled", "use_ssl", "tls_mode"]
    list_select_related = True
    search_fields = ["name", "host"]
    actions = ["test_connection"]
    readonly_fields = ["live_links"]

    @admin.display(description=_("TLS"))
    def tls(self, obj):
        if not obj.use_ssl:
            return _("sin SSL")
        if obj.tls_mode == Router.TlsMode.ANONYMOUS:
            return format_html('<strong style="color:#b00">{}</strong>', _("anónimo (sin autenticar)"))
        return obj.get_tls_mode_display()

    @admin.display(description=_("En vivo"))
    def live_links(self, obj):
        if not obj.pk:
            return "-"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:provisioning_router_leases", args=[obj.pk]),
            _("Leases DHCP"),
            reverse("admin:provisioning_router_queues", args=[obj.pk]),
            _("Colas"),
        )

    @admin.action(description=_("Probar conexión"))
    def test_connection(self, request, queryset):
        for router in queryset:
            try:
                r = services.get_resources(router)
            except DomainError as exc:
                self.message_user(request, f"{router}: {exc.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                _("%(router)s: conectado a «%(identity)s» (%(board)s, RouterOS %(version)s), CPU %(cpu)s%%, memoria "
                  "libre %(free)s de %(total)s MiB, encendido hace %(uptime)s.")
                % {"router": router, "identity": r.identity, "board": r.board_name, "version": r.version,
                   "cpu": r.cpu_load, "free": r.free_memory // 2**20, "total": r.total_memory // 2**20,
                   "uptime": r.uptime},
                messages.SUCCESS,
            )  # fmt: skip

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/leases/", view(self.leases_view), name="provisioning_router_leases"),
            path("<int:pk>/queues/", view(self.queues_view), name="provisioning_router_queues"),
            *super().get_urls(),
        ]

    def leases_view(self, request, pk):
        return self._live_page(request, pk, "leases", services.list_leases, _("Leases DHCP en vivo"))

    def queues_view(self, request, pk):
        return self._live_page(request, pk, "queues", services.list_queues, _("Simple Queues en vivo"))

    def _live_page(self, request, pk, kind, query, title):
        router = get_object_or_404(Router, pk=pk)
        if not self.has_view_permission(request, router):
            raise PermissionDenied
        rows, error = [], ""
        try:
            rows = query(router)
        except DomainError as exc:
            error = exc.message
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": router,
            "title": f"{title} · {router}",
            "rows": rows,
            "error": error,
        }
        return TemplateResponse(request, f"admin/provisioning/router/live_{kind}.html", context)


class ProvisionForm(forms.Form):
    lease = forms.CharField(required=False, widget=forms.HiddenInput)
    ip_address = forms.GenericIPAddressField(label=_("IP"), protocol="IPv4", required=False)
    mac_address = forms.CharField(label=_("MAC"), max_length=17, required=False)

    def clean(self):
        data = super().clean()
        # A lease picked from the live list wins; otherwise both typed fields are needed.
        if data.get("lease") and "|" in data["lease"]:
            data["ip_address"], data["mac_address"] = data["lease"].split("|", 1)
        if not data.get("ip_address") or not data.get("mac_address"):
            raise forms.ValidationError(_("Elija un lease de la lista o escriba IP y MAC."))
        return data


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "plan", "router", "ip_address", "mac_address", "status", "provisioned_at"]
    list_filter = ["status", "router", "plan"]
    list_select_related = ["customer", "plan", "router"]
    search_fields = ["id", "customer__name", "customer__code", "ip_address", "mac_address", "pppoe_username"]
    autocomplete_fields = ["customer", "plan", "router"]
    # Router state changes only through the actions, which keep router and database in step.
    readonly_fields = ["provision_link", "ip_address", "mac_address", "status", "provisioned_at", "last_error"]
    actions = ["provision_selected", "suspend_selected", "activate_selected", "deprovision_selected"]

    @admin.display(description=_("Aprovisionamiento"))
    def provision_link(self, obj):
        if not obj.pk:
            return "-"
        url = reverse("admin:provisioning_service_provision", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Aprovisionar desde los leases del router"))

    @admin.action(description=_("Aprovisionar (con su IP y MAC actuales)"))
    def provision_selected(self, request, queryset):
        ready = [s for s in queryset if s.ip_address and s.mac_address]
        for service in queryset:
            if service not in ready:
                self.message_user(
                    request,
                    _("%(s)s: sin IP/MAC; use «Aprovisionar desde los leases».") % {"s": service},
                    messages.ERROR,
                )
        items = [(s, s.ip_address, s.mac_address) for s in ready]
        self._report(request, services.provision_services(items, user=request.user))

    @admin.action(description=_("Suspender"))
    def suspend_selected(self, request, queryset):
        self._report(request, services.run_bulk(queryset, "suspend", user=request.user))

    @admin.action(description=_("Activar"))
    def activate_selected(self, request, queryset):
        self._report(request, services.run_bulk(queryset, "activate", user=request.user))

    @admin.action(description=_("Dar de baja (quitar del router)"))
    def deprovision_selected(self, request, queryset):
        self._report(request, services.run_bulk(queryset, "deprovision", user=request.user))

    def _report(self, request, outcomes):
        for outcome in outcomes:
            level = messages.SUCCESS if outcome.success else messages.ERROR
            self.message_user(request, f"{outcome.service}: {outcome.message}", level)

    def get_urls(self):
        view = self.admin_site.admin_view(self.provision_view)
        return [path("<int:pk>/provision/", view, name="provisioning_service_provision"), *super().get_urls()]

    def provision_view(self, request, pk):
        service = get_object_or_404(Service.objects.select_related("customer", "plan", "router"), pk=pk)
        if not self.has_change_permission(request, service):
            raise PermissionDenied
        form = ProvisionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                result = services.provision_service(
                    service, ip=data["ip_address"], mac=data["mac_address"], user=request.user
                )
                self.message_user(
                    request,
                    _("%(msg)s IP %(ip)s ↔ MAC %(mac)s, cola %(queue)s (%(limit)s).")
                    % {"msg": result.message, "ip": result.ip, "mac": result.mac, "queue": result.queue_name,
                       "limit": result.max_limit},
                    messages.SUCCESS,
                )  # fmt: skip
                return redirect("admin:provisioning_service_provision", pk=service.pk)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        return TemplateResponse(
            request, "admin/provisioning/service/provision.html", self._provision_context(request, service, form)
        )

    def _provision_context(self, request, service, form):
        leases, queue, error = [], None, ""
        if service.router_id:
            try:
                leases = services.list_leases(service.router)
                queue = services.get_service_queue(service)
            except DomainError as exc:
                error = exc.message
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": service,
            "title": _("Aprovisionar servicio %(s)s") % {"s": service},
            "service": service,
            "leases": leases,
            "queue": queue,
            "error": error,
            "form": form,
        }


@admin.register(RouterOperation)
class RouterOperationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "router", "service", "operation", "success", "duration_ms", "user", "error"]
    list_filter = ["operation", "success", "router"]
    list_select_related = ["router", "service", "service__customer", "user"]
    search_fields = ["router__name", "service__id", "service__customer__name", "error"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
