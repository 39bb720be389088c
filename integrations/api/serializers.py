"""Serializers of the integrations API: shape only."""

from datetime import datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date
from rest_framework import serializers


class DateOrDateTimeField(serializers.DateTimeField):
    """Accepts `2026-01-08` (a whole local day) or a full ISO 8601 date-time."""

    def __init__(self, *, end_of_day: bool = False, **kwargs):
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        day = parse_date(value) if isinstance(value, str) and len(value) == 10 else None
        if day is None:
            return super().to_internal_value(value)
        if self.end_of_day:  # "hasta=2026-01-08" includes that whole day
            day += timedelta(days=1)
        return timezone.make_aware(datetime.combine(day, time.min))


class IntegrationReportQuerySerializer(serializers.Serializer):
    desde = DateOrDateTimeField(required=False, help_text="Inicio de la ventana (incluido); por defecto hace 30 días.")
    hasta = DateOrDateTimeField(
        required=False,
        end_of_day=True,
        help_text="Fin de la ventana (excluido; una fecha incluye ese día); por defecto ahora.",
    )

    def validate(self, attrs):
        hasta = attrs.get("hasta") or timezone.now()
        desde = attrs.get("desde") or hasta - timedelta(days=30)
        if desde >= hasta:
            raise serializers.ValidationError({"desde": "Debe ser anterior a «hasta»."})
        return {"desde": desde, "hasta": hasta}


class SystemReportSerializer(serializers.Serializer):
    sistema = serializers.CharField()
    total = serializers.IntegerField()
    exitosas = serializers.IntegerField()
    fallidas = serializers.IntegerField()
    tasa_exito = serializers.FloatField(help_text="Porcentaje (0-100).")
    ultima = serializers.DateTimeField(allow_null=True)


class IntegrationReportSerializer(serializers.Serializer):
    total_sincronizaciones = serializers.IntegerField()
    exitosas = serializers.IntegerField()
    fallidas = serializers.IntegerField()
    tasa_exito = serializers.FloatField(help_text="Porcentaje (0-100).")
    ultima_sincronizacion = serializers.DateTimeField(allow_null=True)
    proxima_sincronizacion = serializers.DateTimeField(
        allow_null=True, help_text="Próxima ejecución programada de la sincronización ERP; null si no hay."
    )
    desde = serializers.DateTimeField()
    hasta = serializers.DateTimeField()
    por_sistema = SystemReportSerializer(many=True)


class InboundAcceptedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    id = serializers.IntegerField()
    duplicate = serializers.BooleanField()
