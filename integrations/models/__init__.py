"""Models of the integrations app, one module per concern; re-exported here for Django and for callers."""

from integrations.models.api_keys import ExternalAPIKey, IdempotencyRecord

__all__ = ["ExternalAPIKey", "IdempotencyRecord"]
