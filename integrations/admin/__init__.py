"""Admin of the integrations app, one module per concern."""

from integrations.admin import api_keys  # noqa: F401
