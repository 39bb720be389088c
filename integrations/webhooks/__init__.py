"""Outbound signed webhooks and inbound verified webhooks (see docs/architecture.md, "Webhooks")."""
