"""Shapes of the staff authentication endpoints."""

from rest_framework import serializers


class LoginInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, trim_whitespace=False)


class UserSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()


class LoginOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    user = UserSummarySerializer()


class PublicKeySerializer(serializers.Serializer):
    public_key = serializers.CharField()
    algorithm = serializers.CharField()
