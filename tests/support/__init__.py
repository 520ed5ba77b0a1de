"""Helpers shared by the tests of every app (imported, never fixtures)."""
