"""Django-free primitives shared by every protocol package (the lowest layer).

- :mod:`kernel.protocol.errors`: the error root ``MeterproofError``,
  ``ProtocolError`` and the generic input / key / signature errors;
- :mod:`kernel.protocol.jcs`: RFC 8785 canonical JSON and its digests;
- :mod:`kernel.protocol.ed25519`: Ed25519 keys, RFC 7638 key IDs, JWKs and
  domain-separated signatures;
- :mod:`kernel.protocol.strictjson`: the strict I-JSON (RFC 7493) reader;
- :mod:`kernel.protocol.shape`: the JSON shape checks (integers in range,
  hex digests, exact-member objects) raising the caller's error class;
- :mod:`kernel.protocol.text`: storable and printable text;
- :mod:`kernel.protocol.verdict`: one named check's result and the
  fail-closed verdict over a list of them;
- :mod:`kernel.protocol.timefmt`: RFC 3339 UTC timestamps;
- :mod:`kernel.protocol.trustedkey`: a trusted key with role, kid, status and
  validity window.
"""
