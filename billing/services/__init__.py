"""Billing services: every state change of the billing app goes through here."""
