"""ApiBodyLimitMiddleware: DATA_UPLOAD_MAX_MEMORY_SIZE enforced for every /api/ body, chunked ones included."""

from django.conf import settings

from erp.api.errors import error_response

CHUNK = 64 * 1024


class ApiBodyLimitMiddleware:
    """DRF parsers read the stream directly and skip Django's size check, so the limit is applied here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/") and request.method in ("POST", "PUT", "PATCH", "DELETE"):
            limit = self.limit_for(request)
            declared = request.META.get("CONTENT_LENGTH")
            if declared and declared.isdigit() and int(declared) > limit:
                return self.too_large(limit)
            if not declared or not declared.isdigit():
                body = self.read_capped(request, limit)
                if body is None:
                    return self.too_large(limit)
                # DRF treats a missing Content-Length as an empty body; give it the real length.
                request._body = body
                request._read_started = True
                request.META["CONTENT_LENGTH"] = str(len(body))
        return self.get_response(request)

    @staticmethod
    def limit_for(request) -> int:
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    @staticmethod
    def read_capped(request, limit: int) -> bytes | None:
        chunks, size = [], 0
        while True:
            chunk = request._stream.read(CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)

    @staticmethod
    def too_large(limit: int):
        return error_response(f"El cuerpo de la solicitud supera el máximo de {limit} bytes.", "PAYLOAD_TOO_LARGE", 413)
