"""Data files of ``circuits.protocol`` (Poseidon constants; see README.md)."""
