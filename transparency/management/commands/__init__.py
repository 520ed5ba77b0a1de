"""Transparency commands: auditor accounts, log monitor, witness."""
