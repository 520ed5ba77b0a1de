"""Management commands of the transparency app."""
