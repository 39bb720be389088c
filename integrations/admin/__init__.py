"""Admin of the integrations app, one module per concern."""

from integrations.admin import api_keys, erp_sync, logs, webhooks  # noqa: F401
