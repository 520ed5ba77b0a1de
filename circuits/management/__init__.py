"""Management commands of the circuits app."""
