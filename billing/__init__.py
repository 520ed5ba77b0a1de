"""Billing (top app): tenants, tariffs, meter events, bundles, verifier."""
