"""Circuits: Groth16 artifacts, the ceremony, the manifest, the prover."""
