"""Staff authentication endpoints (login, refresh, public key) and the JSON 404/500 for /api/."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.views.defaults import page_not_found, server_error
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenRefreshView

from erp.api.errors import error_response
from erp.api.serializers import (
    LoginInputSerializer,
    LoginOutputSerializer,
    PublicKeySerializer,
    UserSummarySerializer,
)
from erp.exceptions import DomainError


class InvalidCredentialsError(DomainError):
    code = "INVALID_CREDENTIALS"
    status = 401
    default_message = "Correo o contraseña incorrectos."


class LoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        operation_id="authLogin",
        request=LoginInputSerializer,
        responses={200: LoginOutputSerializer, 401: OpenApiResponse(description="Credenciales incorrectas")},
        tags=["auth"],
    )
    def post(self, request):
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, email=data.validated_data["email"], password=data.validated_data["password"])
        if user is None:
            raise InvalidCredentialsError()
        refresh = RefreshToken.for_user(user)
        body = {"access": str(refresh.access_token), "refresh": str(refresh), "user": user}
        return Response(LoginOutputSerializer(body).data)


class RefreshView(TokenRefreshView):
    authentication_classes: list = []

    @extend_schema(operation_id="authRefresh", tags=["auth"])
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class MeView(APIView):
    """The authenticated staff user: the simplest proof that a token works."""

    @extend_schema(operation_id="authMe", responses=UserSummarySerializer, tags=["auth"])
    def get(self, request):
        return Response(UserSummarySerializer(request.user).data)


class PublicKeyView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(operation_id="authPublicKey", responses=PublicKeySerializer, tags=["auth"])
    def get(self, request):
        return Response({"public_key": settings.JWT_PUBLIC_KEY, "algorithm": settings.SIMPLE_JWT["ALGORITHM"]})


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return error_response("Recurso no encontrado.", "NOT_FOUND", 404)
    return page_not_found(request, exception)


def server_failure(request):
    if request.path.startswith("/api/"):
        return error_response("Error interno del servidor.", "SERVER_ERROR", 500)
    return server_error(request)
