"""Audit-trail commands: audit_verify, audit_export."""
