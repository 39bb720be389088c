"""EmeraldAdminSite: the staff's home, with a dashboard that apps extend through erp.dashboard."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from erp import dashboard


class EmeraldAdminSite(admin.AdminSite):
    site_header = _("Emerald ERP")
    site_title = _("Emerald ERP")
    index_title = _("Panel de control")

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "dashboard_panels": dashboard.render_context(request)}
        return super().index(request, extra_context)
