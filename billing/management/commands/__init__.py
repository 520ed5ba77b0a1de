"""Billing commands: keys, demo, tariff/bundle export, log import."""
