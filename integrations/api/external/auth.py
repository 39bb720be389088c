"""DRF authentication, permission and throttle for external systems calling with an API key."""

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.throttling import SimpleRateThrottle

from integrations import api_keys


class ApiKeyPrincipal:
    """The request.user of a key-authenticated call: authenticated, never staff."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, api_key):
        self.api_key = api_key

    def __str__(self):
        return api_keys.key_label(self.api_key)


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "ApiKey"

    def authenticate(self, request):
        header = get_authorization_header(request).decode("latin-1")
        raw = api_keys.parse_header(header)
        ip = request.META.get("REMOTE_ADDR", "")
        api_keys.check_failure_budget(ip)
        if not raw:
            # No key at all still counts: probing without credentials is probing.
            api_keys.record_failure(ip)
            raise api_keys.ApiKeyError()
        try:
            api_key = api_keys.verify_key(raw)
        except api_keys.ApiKeyError:
            api_keys.record_failure(ip)
            raise
        api_keys.touch_last_used(api_key)
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request):
        return self.keyword


class HasScope(BasePermission):
    """GET needs `read`, writes need `write`; a view may name another scope per action (e.g. `approve`)."""

    message = "La clave de API no tiene el permiso necesario para esta operación."

    def has_permission(self, request, view):
        api_key = request.auth
        if api_key is None or not hasattr(api_key, "has_scope"):
            return False
        required = getattr(view, "required_scopes", {}).get(getattr(view, "action", None))
        if required is None:
            required = "read" if request.method in ("GET", "HEAD", "OPTIONS") else "write"
        return api_key.has_scope(required)


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Per-key budget at the key's own `rate`, counted in the shared cache so it holds across processes."""

    scope = "api_key"

    def get_rate(self):
        return "1000/hour"  # replaced per request in allow_request

    def allow_request(self, request, view):
        api_key = request.auth
        if api_key is None or not hasattr(api_key, "rate"):
            return True
        self.rate = api_key.rate or "1000/hour"
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}
