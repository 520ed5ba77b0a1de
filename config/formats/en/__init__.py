"""English formats: ISO dates and UTC times."""
