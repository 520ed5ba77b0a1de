"""Django-free transparency-log protocol (RFC 9162, C2SP).

RFC 9162 Merkle hashing and inclusion/consistency proofs (:mod:`.merkle`),
C2SP checkpoints (:mod:`.checkpoint`), signed notes and cosignatures
(:mod:`.note`), tlog-tiles (:mod:`.tiles`), the client of the log's read API
(:mod:`.logapi`), the monitor (:mod:`.monitor`) and witness
(:mod:`.witness`) rules, and the error classes (:mod:`.errors`). Imports
neither Django nor a higher app; only ``kernel.protocol`` beneath it.
"""
