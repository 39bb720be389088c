"""Admin of the integrations app."""
