"""Admin for external API keys: the key is shown once when created; revoke is an action."""
