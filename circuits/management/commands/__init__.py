"""Circuits commands: artifacts (build, sign, verify), ceremony."""
