"""Shapes of the external inventory API (input validation and output only; rules live in inventory.services)."""

from decimal import Decimal

from rest_framework import serializers

from inventory.models import Article, Movement, MovementKind, Stock

QUANTITY = {"max_digits": 14, "decimal_places": 3}


class ArticleStockSerializer(serializers.Serializer):
    deposito = serializers.CharField(source="warehouse.code")
    cantidad = serializers.DecimalField(source="quantity", **QUANTITY)


class ArticleSerializer(serializers.ModelSerializer):
    stock = ArticleStockSerializer(many=True, read_only=True)

    class Meta:
        model = Article
        fields = [
            "code",
            "name",
            "category",
            "unit",
            "material",
            "diameter_mm",
            "min_stock",
            "active",
            "external_ref",
            "stock",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class ArticleInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    category = serializers.CharField(max_length=100, required=False, allow_blank=True)
    unit = serializers.CharField(max_length=20, required=False)
    material = serializers.CharField(max_length=100, required=False, allow_blank=True)
    diameter_mm = serializers.DecimalField(
        max_digits=8, decimal_places=2, required=False, allow_null=True, min_value=Decimal("0")
    )
    min_stock = serializers.DecimalField(required=False, min_value=Decimal("0"), **QUANTITY)
    active = serializers.BooleanField(required=False)
    external_ref = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True)

    def validate_code(self, value):
        if not value.strip():
            raise serializers.ValidationError("El código no puede estar vacío.")
        return value.strip().upper()


class ArticleUpdateSerializer(ArticleInputSerializer):
    code = None
    name = serializers.CharField(max_length=200, required=False)


class StockSerializer(serializers.ModelSerializer):
    article = serializers.CharField(source="article.code")
    article_name = serializers.CharField(source="article.name")
    warehouse = serializers.CharField(source="warehouse.code")
    min_stock = serializers.DecimalField(source="article.min_stock", **QUANTITY)
    below_min = serializers.SerializerMethodField()

    class Meta:
        model = Stock
        fields = ["article", "article_name", "warehouse", "quantity", "min_stock", "below_min", "updated_at"]

    def get_below_min(self, obj) -> bool:
        return obj.article.min_stock > 0 and obj.quantity < obj.article.min_stock


class MovementSerializer(serializers.ModelSerializer):
    article = serializers.CharField(source="article.code")
    warehouse = serializers.CharField(source="warehouse.code")
    to_warehouse = serializers.CharField(source="to_warehouse.code", allow_null=True, default=None)
    direction = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by_label")
    approved_by = serializers.SerializerMethodField()

    class Meta:
        model = Movement
        fields = [
            "id",
            "kind",
            "article",
            "warehouse",
            "to_warehouse",
            "quantity",
            "direction",
            "status",
            "reference",
            "created_by",
            "approved_by",
            "decided_at",
            "rejection_reason",
            "created_at",
        ]

    def get_direction(self, obj) -> str:
        return "in" if obj.direction > 0 else "out"

    def get_approved_by(self, obj) -> str:
        return obj.approved_by_key or (str(obj.approved_by) if obj.approved_by_id else "")


class MovementInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=MovementKind.choices)
    article = serializers.CharField(max_length=64)
    warehouse = serializers.CharField(max_length=32, required=False, default="CENTRAL")
    to_warehouse = serializers.CharField(max_length=32, required=False, allow_null=True, default=None)
    quantity = serializers.DecimalField(min_value=Decimal("0.001"), **QUANTITY)
    direction = serializers.ChoiceField(choices=["in", "out"], required=False, default="in")
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RejectInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ReportQuerySerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_from": ["Debe ser anterior o igual a date_to."]})
        return attrs
