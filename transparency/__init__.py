"""Transparency: the RFC 9162 log, checkpoints, witnesses, monitor."""
