"""Typed settings objects, and the kernel's own settings (``kernel_settings``).

One object per app reads that app's product settings (DRF's ``api_settings``
is the model): ``kernel.settings.kernel_settings``,
``transparency.settings.transparency_settings``,
``revocation.settings.revocation_settings``,
``circuits.settings.circuits_settings`` and
``billing.settings.billing_settings``. Modules read settings through them,
never with ``getattr(settings, NAME, default)`` or ``settings.NAME``.

The rules:

- **Defaults live in one place, ``config/settings.py``**: it parses the
  environment (django-environ) and gives every product setting its default
  there. An object here only names a setting, gives it a Python type, and
  reads it. A setting that ``config/settings.py`` does not define is an error
  (:class:`~django.core.exceptions.ImproperlyConfigured`), never a second,
  silent default.
- **Read at call time**: each attribute access reads ``django.conf.settings``
  afresh, so ``override_settings`` in tests takes effect at once; nothing is
  read at import time.
- **One declaration per setting**, in the object of the *lowest* app that
  reads it; apps above use that object (an app's object may be used by its
  own app and the apps above it, never below: ``tests/test_layers.py``).
- **Environment variables**: ``MP_`` for every product variable, ``DJANGO_``
  for Django's own, the library's standard names for third-party ones
  (``DATABASE_URL``, ``CELERY_*``). A product setting named ``VDI_<X>`` in
  Django is read from the environment variable ``MP_<X>``; the old ``VDI_<X>``
  still works as a deprecated alias, and ``MP_<X>`` wins when both are set
  (``config.settings.product_env``).

Framework and third-party settings (``ALLOWED_HOSTS``, ``AUTH_USER_MODEL``,
``CELERY_*``) are read from ``django.conf.settings`` as their libraries
define them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "DEPRECATED_ENV_PREFIX",
    "ENV_PREFIX",
    "AppSettings",
    "KernelSettings",
    "Setting",
    "env_name",
    "kernel_settings",
    "str_tuple",
    "text",
]

T = TypeVar("T")

#: Prefix of the product's environment variables (``MP_<X>``).
ENV_PREFIX = "MP_"
#: The former prefix, still read as a deprecated alias (``VDI_<X>``); it is
#: also the prefix of the Django settings the variables fill.
DEPRECATED_ENV_PREFIX = "VDI_"


def env_name(name: str) -> str:
    """Return the environment variable an operator sets for ``name``.

    ``name`` is a Django setting or a deprecated variable (``VDI_<X>``, both
    spelled the same) or already an ``MP_<X>`` name; the result is
    ``MP_<X>``. Names without either prefix are returned unchanged.
    """
    if name.startswith(DEPRECATED_ENV_PREFIX):
        return ENV_PREFIX + name.removeprefix(DEPRECATED_ENV_PREFIX)
    return name


def text(value: Any) -> str:
    """Return ``value`` as a string, ``None`` as the empty string."""
    return "" if value is None else str(value)


def str_tuple(value: Iterable[Any] | None) -> tuple[str, ...]:
    """Return ``value`` (a list or tuple of strings, or None) as a tuple."""
    return tuple(str(item) for item in value or ())


class Setting(Generic[T]):
    """One Django setting, read at call time and converted to its type.

    ``Setting("VDI_BILLING_REPLAY_RESERVE_TTL_SEC", int)`` declared on an
    :class:`AppSettings` subclass makes the attribute return
    ``int(settings.VDI_BILLING_REPLAY_RESERVE_TTL_SEC)`` on every access.

    Raises (on access):
        ImproperlyConfigured: the Django settings do not define ``name``
            (``config/settings.py`` defines every product setting).
    """

    def __init__(self, name: str, cast: Callable[[Any], T]) -> None:
        """``name``: the Django setting; ``cast``: its Python type."""
        self.name = name
        self.cast = cast
        self.attribute = ""

    def __set_name__(self, owner: type, attribute: str) -> None:
        """Remember the attribute name (for messages and introspection)."""
        self.attribute = attribute

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Setting[T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> Any:
        """Return the current value (the descriptor itself on the class)."""
        if obj is None:
            return self
        try:
            value = getattr(django_settings, self.name)
        except AttributeError:
            raise ImproperlyConfigured(
                f"settings.{self.name} is not defined; config/settings.py "
                "defines every product setting with its default"
            ) from None
        return self.cast(value)


class AppSettings:
    """Base of the per-app settings objects: a set of :class:`Setting`s."""

    @classmethod
    def declared(cls) -> Iterator[Setting[Any]]:
        """Yield every :class:`Setting` declared on the class and its bases."""
        seen: set[str] = set()
        for klass in cls.__mro__:
            for attribute, value in vars(klass).items():
                if isinstance(value, Setting) and attribute not in seen:
                    seen.add(attribute)
                    yield value


class KernelSettings(AppSettings):
    """Settings every app may read: the process, the server's keys, and the
    trust the keyring hands up raw (``kernel.keyring``).

    Attributes (Django setting, environment variable ``MP_...``):
        production: ``PRODUCTION`` (``MP_ENV=production``).
        base_dir: ``BASE_DIR``, the repository root.
        var_dir: ``VAR_DIR`` (``MP_VAR_DIR``), runtime data (database,
            caches, demo output).
        celery_beat: ``VDI_CELERY_BEAT`` (``MP_CELERY_BEAT``): Celery beat
            runs ``config/celery.py``'s schedule; without it the server keeps
            itself fresh lazily on reads.
        signing_key: ``VDI_SIGNING_KEY`` (``MP_SIGNING_KEY``), the issuer's
            Ed25519 seed, 64 lowercase hex characters.
        meter_private_key_pem / meter_kid:
            ``VDI_BILLING_METER_PRIVATE_KEY_PEM`` / ``VDI_BILLING_METER_KID``,
            the server-side meter key (PKCS#8 PEM) and its RFC 7638 kid.
        log_operator_private_key_pem / log_operator_kid:
            ``VDI_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM`` /
            ``VDI_BILLING_LOG_OPERATOR_KID``.
        log_origin: ``VDI_BILLING_LOG_ORIGIN``, the log's C2SP origin line.
        retired_keys: ``VDI_BILLING_RETIRED_KEYS``, JSON list of retired
            public keys (``kernel.keyring.parse_retired_keys``).
        log_witness_keys: ``VDI_BILLING_LOG_WITNESS_KEYS``, C2SP vkeys
            (``name+hexid+base64``) of the accepted witnesses.
        log_witness_threshold: ``VDI_BILLING_LOG_WITNESS_THRESHOLD``,
            cosignatures by distinct witnesses required (0 = optional).
        manifest_authority_signing_key:
            ``VDI_MANIFEST_AUTHORITY_SIGNING_KEY``, a 64-hex seed for signing
            the circuit manifest offline (never a trust anchor).
        manifest_authority_public_jwk:
            ``VDI_MANIFEST_AUTHORITY_PUBLIC_JWK``, the trusted manifest
            authority key(s): a JWK, a list, or ``{"keys": [...]}`` as text.
        circuit_artifacts_dir: ``VDI_CIRCUIT_ARTIFACTS_DIR``, the circuit
            artifacts and their signed ``ARTIFACT_MANIFEST.json``.
    """

    production = Setting("PRODUCTION", bool)
    base_dir = Setting("BASE_DIR", Path)
    var_dir = Setting("VAR_DIR", Path)
    celery_beat = Setting("VDI_CELERY_BEAT", bool)
    signing_key = Setting("VDI_SIGNING_KEY", text)
    meter_private_key_pem = Setting("VDI_BILLING_METER_PRIVATE_KEY_PEM", text)
    meter_kid = Setting("VDI_BILLING_METER_KID", text)
    log_operator_private_key_pem = Setting(
        "VDI_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM", text
    )
    log_operator_kid = Setting("VDI_BILLING_LOG_OPERATOR_KID", text)
    log_origin = Setting("VDI_BILLING_LOG_ORIGIN", text)
    retired_keys = Setting("VDI_BILLING_RETIRED_KEYS", text)
    log_witness_keys = Setting("VDI_BILLING_LOG_WITNESS_KEYS", str_tuple)
    log_witness_threshold = Setting("VDI_BILLING_LOG_WITNESS_THRESHOLD", int)
    manifest_authority_signing_key = Setting("VDI_MANIFEST_AUTHORITY_SIGNING_KEY", text)
    manifest_authority_public_jwk = Setting("VDI_MANIFEST_AUTHORITY_PUBLIC_JWK", text)
    circuit_artifacts_dir = Setting("VDI_CIRCUIT_ARTIFACTS_DIR", Path)


#: The kernel's settings (every app may read them).
kernel_settings = KernelSettings()
