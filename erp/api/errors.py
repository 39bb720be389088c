"""One error format for /api/: {"success": false, "error", "code", "details"}, from DRF and domain errors."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.views import set_rollback

from erp.exceptions import DomainError

logger = logging.getLogger(__name__)

_CODES = {
    drf.ValidationError: "VALIDATION_ERROR",
    drf.ParseError: "MALFORMED_REQUEST",
    drf.NotAuthenticated: "NOT_AUTHENTICATED",
    drf.AuthenticationFailed: "AUTHENTICATION_FAILED",
    drf.PermissionDenied: "PERMISSION_DENIED",
    drf.NotFound: "NOT_FOUND",
    drf.MethodNotAllowed: "METHOD_NOT_ALLOWED",
    drf.NotAcceptable: "NOT_ACCEPTABLE",
    drf.UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
    drf.Throttled: "RATE_LIMITED",
}

_MESSAGES = {
    "VALIDATION_ERROR": "Los datos enviados no son válidos.",
}


def error_body(message: str, code: str, details=None) -> dict:
    return {"success": False, "error": str(message), "code": code, "details": details}


def error_response(message: str, code: str, status: int, details=None, headers=None) -> JsonResponse:
    response = JsonResponse(error_body(message, code, details), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc, context):
    """DRF EXCEPTION_HANDLER: every error leaves in one shape; unknown exceptions become a logged 500."""
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()

    if isinstance(exc, DomainError):
        set_rollback()
        return error_response(exc.message, exc.code, exc.status, exc.details)

    if isinstance(exc, drf.APIException):
        set_rollback()
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(int(exc.wait) or 1)
        code = getattr(exc, "error_code", None) or _code_for(exc)
        if isinstance(exc, drf.ValidationError):
            details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            message = _MESSAGES["VALIDATION_ERROR"] + " " + _first_message(exc.detail)
            return error_response(message, code, exc.status_code, details, headers)
        return error_response(_first_message(exc.detail), code, exc.status_code, None, headers)

    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__ if context else "?")
    set_rollback()
    return error_response("Error interno del servidor.", "SERVER_ERROR", 500)


def _code_for(exc) -> str:
    for cls in type(exc).__mro__:
        if cls in _CODES:
            return _CODES[cls]
    return str(getattr(exc, "default_code", "error")).upper()
