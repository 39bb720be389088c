"""Routes of the core API: staff authentication."""

from django.urls import path

from erp.api import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="auth-login"),
    path("refresh/", views.RefreshView.as_view(), name="auth-refresh"),
    path("me/", views.MeView.as_view(), name="auth-me"),
    path("public-key/", views.PublicKeyView.as_view(), name="auth-public-key"),
]
