"""Routes of the external API (paths are the spec's, in Spanish)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from integrations.api.external import views

router = SimpleRouter()
router.register("articulos", views.ArticleViewSet, basename="external-articles")
router.register("stock", views.StockViewSet, basename="external-stock")
router.register("movimientos", views.MovementViewSet, basename="external-movements")

urlpatterns = [
    *router.urls,
    path("reportes/", views.ReportView.as_view(), name="external-report"),
]
