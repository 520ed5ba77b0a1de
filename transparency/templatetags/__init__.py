"""Template tags of the transparency app (the monitor's admin banner)."""
