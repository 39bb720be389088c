"""Models of the integrations app, one module per concern; re-exported here for Django and for callers."""

from integrations.models.api_keys import ExternalAPIKey, IdempotencyRecord
from integrations.models.erp_sync import ErpConnection, ErpSyncRecord, ErpSyncRun
from integrations.models.logs import IntegrationLog, LogStatus
from integrations.models.webhooks import (
    DeliveryStatus,
    InboundEvent,
    InboundScheme,
    InboundStatus,
    InboundWebhookSource,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "DeliveryStatus",
    "ErpConnection",
    "ErpSyncRecord",
    "ErpSyncRun",
    "ExternalAPIKey",
    "IdempotencyRecord",
    "InboundEvent",
    "InboundScheme",
    "InboundStatus",
    "InboundWebhookSource",
    "IntegrationLog",
    "LogStatus",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
