"""Revocation: signed snapshots of revoked meter keys and their fetch."""
