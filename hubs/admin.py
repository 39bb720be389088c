"""Admin of the hubs app."""
