"""FilterSets for inventory lists (used by the external API)."""

import django_filters
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from inventory.models import Article, Movement, MovementKind, MovementStatus, Stock


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """true/false/1/0 only: an unknown value is a 400, never silently ignored as NullBoolean would."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [("true", "true"), ("false", "false"), ("1", "1"), ("0", "0")])
        kwargs.setdefault("coerce", lambda value: value in ("true", "1"))
        super().__init__(*args, **kwargs)


class ArticleFilterSet(django_filters.FilterSet):
    code = django_filters.CharFilter(method="filter_code", label=_("código"))
    category = django_filters.CharFilter(field_name="category", lookup_expr="iexact")
    material = django_filters.CharFilter(field_name="material", lookup_expr="iexact")
    active = StrictBooleanFilter(field_name="active")
    search = django_filters.CharFilter(method="filter_search", label=_("búsqueda"))
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Article
        fields = ["code", "category", "material", "active", "search", "updated_since"]

    def filter_code(self, queryset, name, value):
        return queryset.filter(code=value.strip().upper())

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value) | Q(material__icontains=value))


class StockFilterSet(django_filters.FilterSet):
    article = django_filters.CharFilter(method="filter_article", label=_("artículo"))
    warehouse = django_filters.CharFilter(method="filter_warehouse", label=_("depósito"))
    below_min = StrictBooleanFilter(method="filter_below_min", label=_("bajo mínimo"))
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Stock
        fields = ["article", "warehouse", "below_min", "updated_since"]

    def filter_article(self, queryset, name, value):
        return queryset.filter(article__code=value.strip().upper())

    def filter_warehouse(self, queryset, name, value):
        return queryset.filter(warehouse__code=value.strip().upper())

    def filter_below_min(self, queryset, name, value):
        below = Q(article__min_stock__gt=0) & Q(quantity__lt=F("article__min_stock"))
        return queryset.filter(below) if value else queryset.exclude(below)


class MovementFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=MovementKind.choices)
    status = django_filters.ChoiceFilter(choices=MovementStatus.choices)
    article = django_filters.CharFilter(method="filter_article", label=_("artículo"))
    date_from = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    date_to = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = Movement
        fields = ["kind", "status", "article", "date_from", "date_to"]

    def filter_article(self, queryset, name, value):
        return queryset.filter(article__code=value.strip().upper())
