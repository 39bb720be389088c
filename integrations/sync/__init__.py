"""Synchronisation jobs with external systems."""
