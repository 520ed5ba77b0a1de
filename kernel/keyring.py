"""The server's own keys, loaded from settings: the bottom of every app's trust.

Every app reaches the server's keys here, downward: revocation signs its
snapshots with the issuer key, transparency signs checkpoints with the
log-operator key (``transparency.signer``), billing signs meter envelopes and
attestations and assembles the published trust anchors (``billing.keyring``,
``billing.selectors.trust_anchors_get``). Parsed with :mod:`kernel.protocol`
only.

Settings read through :data:`kernel.settings.kernel_settings` (at call time,
never at import; cached per distinct configuration so a settings override in
tests takes effect at once); Django setting names, each read from the
environment variable ``MP_<name without VDI_>``:

- ``VDI_SIGNING_KEY``: issuer seed, 64 hex characters;
- ``VDI_BILLING_METER_PRIVATE_KEY_PEM`` / ``VDI_BILLING_METER_KID``: the
  server-side meter key (PKCS#8 PEM) and its expected RFC 7638 kid;
- ``VDI_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM`` /
  ``VDI_BILLING_LOG_OPERATOR_KID``: the log-operator key and kid;
- ``VDI_BILLING_LOG_ORIGIN``: the log's C2SP origin line;
- ``VDI_MANIFEST_AUTHORITY_SIGNING_KEY``: a manifest-authority seed (format
  checked only: it signs offline and is never a trust anchor);
- ``VDI_MANIFEST_AUTHORITY_PUBLIC_JWK``, ``VDI_BILLING_LOG_WITNESS_KEYS``,
  ``VDI_BILLING_LOG_WITNESS_THRESHOLD``, ``VDI_CIRCUIT_ARTIFACTS_DIR``: kept
  raw here, parsed by ``billing.keyring`` with the circuits and
  transparency protocol packages;
- ``VDI_BILLING_RETIRED_KEYS`` (written by ``manage.py billing_keys rotate``):
  a JSON list of public keys only::

    [{"role": "meter" | "issuer" | "log_operator", "kid": "<RFC 7638>",
      "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "..."},
      "not_before": "<RFC 3339 UTC>" | null, "not_after": "<RFC 3339 UTC>"}]

  They are published with ``status: retired`` so that what they signed inside
  their window still verifies; the server never signs with them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nacl.signing

from kernel.errors import SigningKeysUnconfigured
from kernel.protocol.ed25519 import (
    KeyPair,
    key_id,
    signing_key_from_pem,
    signing_key_from_seed_hex,
    verify_key_from_jwk,
)
from kernel.protocol.errors import JsonInputError, KeyFormatError
from kernel.protocol.strictjson import loads as strict_loads
from kernel.protocol.timefmt import parse_rfc3339_utc
from kernel.protocol.trustedkey import TrustedKey
from kernel.settings import kernel_settings

__all__ = [
    "RETIRED_ROLES",
    "ServerKeys",
    "parse_retired_keys",
    "published_keys",
    "published_keys_source_set",
    "server_keys_get",
]

#: Roles a retired key may have (``log-operator`` is accepted as a spelling).
RETIRED_ROLES = ("meter", "issuer", "log_operator")


@dataclass(frozen=True)
class ServerKeys:
    """The server's signing keys, its retired public keys and the raw trust
    settings the upper apps parse.

    Attributes:
        issuer: signs attestations and revocation snapshots.
        meter: the server-side meter key (signs envelopes for any tenant).
        log_operator: signs the log's checkpoints (C2SP signed notes).
        log_origin: the log's origin line (``VDI_BILLING_LOG_ORIGIN``).
        retired: retired public keys (``status: retired``), oldest first.
        witness_keys: ``VDI_BILLING_LOG_WITNESS_KEYS``, unparsed C2SP vkeys.
        witness_threshold: ``VDI_BILLING_LOG_WITNESS_THRESHOLD`` (k).
        manifest_authority_jwk: ``VDI_MANIFEST_AUTHORITY_PUBLIC_JWK`` text.
        circuit_artifacts_dir: ``VDI_CIRCUIT_ARTIFACTS_DIR`` as a string.
    """

    issuer: KeyPair
    meter: KeyPair
    log_operator: KeyPair
    log_origin: str
    retired: tuple[TrustedKey, ...] = ()
    witness_keys: tuple[str, ...] = ()
    witness_threshold: int = 0
    manifest_authority_jwk: str = ""
    circuit_artifacts_dir: str = ""

    def issuer_keys(self) -> dict[str, nacl.signing.VerifyKey]:
        """Return the issuer public keys by kid: the active issuer key and
        every retired one (what verifies our revocation snapshots and
        attestations; the same set as the published anchors'
        ``keys_for("issuer")``)."""
        keys = {self.issuer.kid: self.issuer.verify_key}
        for key in self.retired:
            if key.role == "issuer":
                keys[key.kid] = key.verify_key
        return keys


def parse_retired_keys(text: str) -> tuple[TrustedKey, ...]:
    """Parse ``VDI_BILLING_RETIRED_KEYS`` (see the module docstring).

    Returns:
        one :class:`TrustedKey` per entry, ``status="retired"``, in order.

    Raises:
        SigningKeysUnconfigured: malformed JSON, unknown role, a kid that is
            not the JWK's RFC 7638 thumbprint, or a bad timestamp.
    """
    if not text.strip():
        return ()
    try:
        entries = strict_loads(text)
    except JsonInputError as exc:
        raise SigningKeysUnconfigured(
            f"MP_BILLING_RETIRED_KEYS is not JSON: {exc}"
        ) from exc
    if not isinstance(entries, list):
        raise SigningKeysUnconfigured("MP_BILLING_RETIRED_KEYS must be a JSON list")
    keys = []
    for index, entry in enumerate(entries):
        where = f"MP_BILLING_RETIRED_KEYS[{index}]"
        if not isinstance(entry, dict):
            raise SigningKeysUnconfigured(f"{where} must be an object")
        role = str(entry.get("role", "")).replace("-", "_")
        if role not in RETIRED_ROLES:
            raise SigningKeysUnconfigured(
                f"{where}.role must be one of {RETIRED_ROLES}"
            )
        try:
            verify_key = verify_key_from_jwk(entry.get("jwk"))
            bounds = [
                parse_rfc3339_utc(entry[name]) if entry.get(name) else None
                for name in ("not_before", "not_after")
            ]
        except (KeyFormatError, ValueError) as exc:
            raise SigningKeysUnconfigured(f"{where}: {exc}") from exc
        if entry.get("kid") != key_id(verify_key):
            raise SigningKeysUnconfigured(
                f"{where}.kid is not the RFC 7638 thumbprint of its jwk"
            )
        keys.append(
            TrustedKey(
                kid=key_id(verify_key),
                role=role,
                verify_key=verify_key,
                not_before=bounds[0],
                not_after=bounds[1],
                status="retired",
            )
        )
    return tuple(keys)


def _config() -> tuple[Any, ...]:
    ks = kernel_settings
    return (
        ks.signing_key,
        ks.meter_private_key_pem,
        ks.meter_kid,
        ks.log_operator_private_key_pem,
        ks.log_operator_kid,
        ks.log_origin,
        ks.manifest_authority_signing_key,
        ks.manifest_authority_public_jwk,
        ks.retired_keys,
        ks.log_witness_keys,
        ks.log_witness_threshold,
        str(ks.circuit_artifacts_dir),
    )


def server_keys_get() -> ServerKeys:
    """Return the server's keys for the current settings.

    Raises:
        SigningKeysUnconfigured: if a key is missing, malformed, or its
            configured kid is not its RFC 7638 thumbprint (run
            ``manage.py billing_keys``), or ``VDI_BILLING_RETIRED_KEYS`` is
            malformed or lists an active kid.
    """
    return _load(_config())


@functools.lru_cache(maxsize=8)
def _load(config: tuple[Any, ...]) -> ServerKeys:
    (
        issuer_hex,
        meter_pem,
        meter_kid,
        log_pem,
        log_kid,
        origin,
        authority_hex,
        authority_jwk,
        retired_text,
        witness_keys,
        witness_threshold,
        circuits_dir,
    ) = config
    missing = [
        name
        for name, value in (
            ("MP_SIGNING_KEY", issuer_hex),
            ("MP_BILLING_METER_PRIVATE_KEY_PEM", meter_pem),
            ("MP_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM", log_pem),
        )
        if not value
    ]
    if missing:
        raise SigningKeysUnconfigured(
            f"missing {', '.join(missing)}: run 'python manage.py billing_keys'"
        )
    try:
        issuer = KeyPair.from_signing_key(signing_key_from_seed_hex(issuer_hex))
        meter = KeyPair.from_signing_key(signing_key_from_pem(meter_pem))
        log_operator = KeyPair.from_signing_key(signing_key_from_pem(log_pem))
        # A VDI_MANIFEST_AUTHORITY_SIGNING_KEY in the environment is for
        # signing offline (`artifacts sign`) and never becomes a trust anchor:
        # a development key must not stand beside the release's authority.
        # Its format is still checked here.
        if authority_hex:
            signing_key_from_seed_hex(authority_hex)
    except (KeyFormatError, ValueError) as exc:
        raise SigningKeysUnconfigured(f"malformed key: {exc}") from exc
    for name, configured, actual in (
        ("MP_BILLING_METER_KID", meter_kid, meter.kid),
        ("MP_BILLING_LOG_OPERATOR_KID", log_kid, log_operator.kid),
    ):
        if configured and configured != actual:
            raise SigningKeysUnconfigured(
                f"{name} is {configured} but the key's RFC 7638 thumbprint is {actual}"
            )
    retired = parse_retired_keys(retired_text)
    active = {issuer.kid, meter.kid, log_operator.kid}
    clash = [key.kid for key in retired if key.kid in active]
    if clash:
        raise SigningKeysUnconfigured(
            f"kid {clash[0]} is both active and in MP_BILLING_RETIRED_KEYS"
        )
    return ServerKeys(
        issuer=issuer,
        meter=meter,
        log_operator=log_operator,
        log_origin=origin,
        retired=retired,
        witness_keys=tuple(witness_keys),
        witness_threshold=witness_threshold,
        manifest_authority_jwk=authority_jwk or "",
        circuit_artifacts_dir=circuits_dir,
    )


#: The upper app's source of every published key (billing registers the keys
#: of its trust anchors, tenant meter keys included, in ``AppConfig.ready``).
_published_keys_source: Callable[[], tuple[TrustedKey, ...]] | None = None


def published_keys_source_set(
    source: Callable[[], tuple[TrustedKey, ...]] | None,
) -> None:
    """Register the callable that returns every key this server publishes in
    its trust anchors (``None`` unregisters it).

    The app that assembles the trust anchors (billing) registers it in its
    ``AppConfig.ready()``; lower apps (the revocation admin's key picker) read
    the keys through :func:`published_keys` without importing it.
    """
    global _published_keys_source
    _published_keys_source = source


def published_keys() -> tuple[TrustedKey, ...]:
    """Return every key this server publishes (server roles, retired keys,
    tenant gateway meter keys, with ``status`` as published).

    Without a registered source (see :func:`published_keys_source_set`),
    returns the server's own keys: active meter, issuer and log-operator keys
    (``status: active``) and the retired ones.

    Raises:
        SigningKeysUnconfigured: if the server has no keys.
    """
    if _published_keys_source is not None:
        return tuple(_published_keys_source())
    keys = server_keys_get()
    active = tuple(
        TrustedKey(kid=pair.kid, role=role, verify_key=pair.verify_key)
        for role, pair in (
            ("meter", keys.meter),
            ("issuer", keys.issuer),
            ("log_operator", keys.log_operator),
        )
    )
    return active + keys.retired
