"""Django-free revocation protocol: the signed revocation snapshot.

:mod:`.snapshot` builds, signs, parses and checks the freshness of the
snapshot served at ``/.well-known/vdi-billing-revocation.json``; :mod:`.errors`
holds its error classes. Imports neither Django nor ``billing`` (only
``kernel.protocol``, the lowest layer).
"""
