"""Django-free circuit protocol: Poseidon commitments and Groth16 proofs.

Poseidon over BN254 as circomlib (:mod:`.poseidon`), billing commitments and
their public signal (:mod:`.commitments`), Groth16 verification with a fast
backend and a py_ecc reference (:mod:`.groth16`), the proof-to-commitments
binding check (:mod:`.binding`), the signed artifact manifest
(:mod:`.manifest`), circom's witness calculator and iden3 binary files
(:mod:`.witness`, :mod:`.binfile`, :mod:`.r1cs`) and the error classes
(:mod:`.errors`). Imports neither Django nor ``billing``.
"""
