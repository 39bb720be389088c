"""Page-number pagination with a client-chosen page size capped at API_MAX_PAGE_SIZE."""

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    page_size_query_param = "page_size"

    @property
    def max_page_size(self):
        return settings.API_MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None:
            if not raw.isdigit() or int(raw) < 1:
                raise ValidationError({"page_size": [f"Debe ser un entero entre 1 y {self.max_page_size}."]})
            if int(raw) > self.max_page_size:
                raise ValidationError({"page_size": [f"No puede superar {self.max_page_size}."]})
        return super().get_page_size(request)
