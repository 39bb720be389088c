"""Routes of the provisioning API (included at /api/)."""

from rest_framework.routers import SimpleRouter

from provisioning.api import views

router = SimpleRouter()
router.register("plans", views.PlanViewSet, basename="plan")
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("routers", views.RouterViewSet, basename="router")
router.register("services", views.ServiceViewSet, basename="service")
router.register("router-operations", views.RouterOperationViewSet, basename="router-operation")

urlpatterns = router.urls
