"""Locale format overrides."""
