"""Hostile HTTP requests for every JSON endpoint, as Hypothesis strategies.

Shared by the quick fuzz test in the suite (``tests/config/test_api_fuzz.py``)
and the long run (``scripts/fuzz_api.py``). A request is data only
(:class:`HostileRequest`); the caller sends it through the Django test client
or over HTTP and checks the answer with :func:`answer_problem`.

Bodies are valid requests with one part replaced (wrong types, huge or
fractional numbers, NaN, NUL, lone surrogates, long strings), raw byte strings
(truncated JSON, invalid UTF-8, duplicate keys) or random JSON; headers are odd
API keys, content types and Accept values; paths carry ``%00``, invalid UTF-8,
Unicode digits and huge numbers. Deep nesting is left out: it is audit item 12
(the depth-limited JSON parser), tested on its own.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from billing.protocol.contexts import CONTEXT_METER_ENVELOPE
from kernel.protocol.ed25519 import KeyPair, public_jwk, sign_object

#: Strings that broke (or could break) storage, encoding or parsing.
HOSTILE_STRINGS = [
    "",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\udbff\udfff",
    "\u2028\u2029",
    "\ufeff",
    "\u202eevil",
    "%00",
    "../../etc/passwd",
    "' OR 1=1 --",
    "\\",
    '"',
    "\U0001f4a9",
    "x" * 5000,
    "١٢٣",
    "NaN",
    "-0",
    "1e999",
]
#: The strings that no database or UTF-8 encoder takes (drawn more often).
BREAKERS = ["\x00", "a\x00b", "\ud800", "x\udfffy"]
#: Numbers beyond every limit: I-JSON, int64, float range, Python's int-to-str.
HOSTILE_NUMBERS: list[Any] = [
    -1,
    0,
    2**53,
    2**63,
    -(2**63) - 1,
    2**64,
    10**400,
    0.5,
    -0.0,
    1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    True,
    False,
]
#: Raw bodies that are not (quite) JSON.
RAW_BODIES = [
    b"",
    b"{",
    b"}",
    b"[]",
    b"null",
    b"0",
    b'"x"',
    b"\xff\xfe\x00",
    b"\xed\xa0\x80",
    b'{"a": 1, "a": 2}',
    b'{"events": [], "events": [1]}',
    b"1e999",
    b"-1e999",
    b"NaN",
    b"[1,]",
    b"{'a': 1}",
    b"\x00",
    b'{"a": "\\ud800"}',
    b'{"a": "\\u0000"}',
    b"1" * 5000,
    b"[" + b"1," * 3000 + b"1]",
]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "application/json; charset=utf-16",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/xml",
    "",
    "application/json; boundary=\x7f",
]
ACCEPTS = ["application/json", "*/*", "text/html", "application/xml", "x/y;q=0", ""]
#: Path segments for receipt ids, kids and tile indexes.
HOSTILE_SEGMENTS = [
    "%00",
    "a%00b",
    "%ff",
    "%ED%A0%80",
    "%C0%AF",
    "..",
    "%2e%2e",
    "x" * 300,
    "rcpt_" + "0" * 24,
    "%D9%A1%D9%A2%D9%A3",
    "000.p/0",
    "000.p/256",
    "x999/x999/x999/x999/x999/x999/x999/999",
    "-1",
    "99999999999999999999",
    "%20",
    "a;b",
    "a%0Ab",
]
HOSTILE_QUERY_VALUES = [
    "",
    "-1",
    "0",
    "1",
    "99999999999999999999",
    "9223372036854775808",
    "1e3",
    "0x10",
    "%00",
    "%ff",
    "%D9%A1",
    "a" * 64,
    "A" * 64,
    "g" * 64,
    "1.5",
    "+1",
    " 1",
]


@dataclass(frozen=True)
class HostileRequest:
    """One request: ``path`` may hold percent escapes and a query string;
    ``headers`` are HTTP header names and latin-1 values; ``auth`` says
    whether the caller adds the tenant's API key."""

    endpoint: str
    method: str
    path: str
    body: bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: bool = True


@dataclass(frozen=True)
class Templates:
    """Valid request bodies that mutations start from."""

    event: dict[str, Any]
    envelope: dict[str, Any]
    bundle: dict[str, Any]
    jwk: dict[str, Any]
    kid: str
    receipt_id: str


def json_values() -> st.SearchStrategy[Any]:
    """Random JSON values with hostile leaves (at most a few levels deep)."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=40),
        st.sampled_from(HOSTILE_STRINGS),
        st.sampled_from(HOSTILE_NUMBERS),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(
                st.one_of(st.text(max_size=10), st.sampled_from(HOSTILE_STRINGS)),
                inner,
                max_size=4,
            ),
        ),
        max_leaves=12,
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, template: Any) -> Any:
    """``template`` (deep-copied) with one node replaced, deleted or given a
    hostile extra member."""
    value = json.loads(json.dumps(template))
    where = draw(st.sampled_from(_paths(value)))
    replacement = draw(
        st.one_of(
            st.sampled_from(BREAKERS),
            st.sampled_from(HOSTILE_STRINGS),
            st.sampled_from(HOSTILE_NUMBERS),
            json_values(),
        )
    )
    if not where:
        return replacement
    parent = value
    for step in where[:-1]:
        parent = parent[step]
    action = draw(st.sampled_from(["replace", "replace", "delete", "extra", "extra"]))
    if action == "delete":
        del parent[where[-1]]
    elif action == "extra" and isinstance(parent, dict):
        key = draw(
            st.one_of(st.sampled_from(BREAKERS), st.sampled_from(HOSTILE_STRINGS))
        )
        parent[key] = replacement
    else:
        parent[where[-1]] = replacement
    return value


def encode(value: Any) -> bytes:
    """JSON text of ``value``; lone surrogates become ``\\udXXX`` escapes and
    NaN/Infinity stay (hostile, not JSON)."""
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


@st.composite
def bodies(draw: st.DrawFn, template: Any) -> bytes:
    """A hostile body built from ``template``, raw bytes or random JSON."""
    kind = draw(
        st.sampled_from(["as-is", "mutated", "mutated", "mutated", "raw", "random"])
    )
    if kind == "as-is":  # the template itself (it may carry a hostile attribute)
        return encode(template)
    if kind == "raw":
        return draw(st.sampled_from(RAW_BODIES))
    if kind == "random":
        return encode(draw(json_values()))
    return encode(draw(mutated(template)))


@st.composite
def headers(draw: st.DrawFn) -> tuple[dict[str, str], bool]:
    """Odd headers, and whether to send the tenant's real API key."""
    chosen: dict[str, str] = {}
    auth = draw(st.booleans()) or draw(st.booleans())
    if not auth and draw(st.booleans()):
        chosen["Authorization"] = draw(
            st.sampled_from(
                [
                    "Bearer",
                    "Bearer ",
                    "Bearer mp_",
                    "Bearer mp_" + "x" * 500,
                    "Bearer mp_\xe9\xff",
                    "Basic dXNlcjpwYXNz",
                    "bearer mp_abc.def",
                    "Bearer mp_%00",
                ]
            )
        )
    if draw(st.integers(0, 4)) == 0:
        chosen["Accept"] = draw(st.sampled_from(ACCEPTS))
    if draw(st.integers(0, 9)) == 0:
        chosen["If-None-Match"] = draw(st.sampled_from(['"0"', "*", "W/", ",,,"]))
    if draw(st.integers(0, 19)) == 0:
        chosen["X-Forwarded-Proto"] = "https"
    return chosen, auth


def _query(draw: st.DrawFn, names: list[str]) -> str:
    params = []
    for name in names:
        if draw(st.booleans()):
            params.append(f"{name}={draw(st.sampled_from(HOSTILE_QUERY_VALUES))}")
    if draw(st.integers(0, 9)) == 0:
        params.append("%00=%00")
    return "?" + "&".join(params) if params else ""


def _event(draw: st.DrawFn, templates: Templates) -> dict[str, Any]:
    """The template event under a drawn event id, so that events which pass
    validation reach the database instead of all replaying one id."""
    number = draw(st.integers(0, 10**9))
    event = {**templates.event, "event_id": f"fz-{number}"}
    if draw(st.booleans()):
        # A valid event but for one attribute value: what reaches the database.
        value = draw(
            st.one_of(
                st.sampled_from(BREAKERS),
                st.sampled_from(HOSTILE_STRINGS),
                st.text(max_size=20),
            )
        )
        event["attributes"] = {**event["attributes"], "note": value}
    return event


def _segment(draw: st.DrawFn, valid: str) -> str:
    if draw(st.integers(0, 3)) == 0:
        return quote(valid, safe="")
    return draw(st.sampled_from(HOSTILE_SEGMENTS))


@st.composite
def hostile_requests(draw: st.DrawFn, templates: Templates) -> HostileRequest:
    """One hostile request to one of the API's endpoints."""
    endpoint = draw(st.sampled_from(ENDPOINTS))
    extra, auth = draw(headers())
    base = "/api/vdi/billing"
    body: bytes | None = None
    method = "GET"
    if endpoint == "attest":
        method, path = "POST", f"{base}/attest"
        template: Any = draw(
            st.sampled_from([_event(draw, templates), templates.envelope])
        )
        body = draw(bodies(template))
    elif endpoint == "batch":
        method, path = "POST", f"{base}/attest/batch"
        events = [_event(draw, templates), templates.envelope, _event(draw, templates)]
        body = draw(bodies({"events": events}))
    elif endpoint == "verify":
        method = "POST"
        path = f"{base}/verify" + _query(draw, ["profile"])
        body = draw(
            bodies(
                draw(
                    st.sampled_from(
                        [
                            templates.bundle,
                            {"bundle": templates.bundle, "profile": "standard"},
                        ]
                    )
                )
            )
        )
    elif endpoint == "meter-keys":
        method = draw(st.sampled_from(["GET", "POST"]))
        path = f"{base}/meter-keys"
        if method == "POST":
            body = draw(
                bodies(draw(st.sampled_from([{"jwk": templates.jwk}, templates.jwk])))
            )
    elif endpoint == "meter-key-action":
        method = "POST"
        action = draw(st.sampled_from(["retire", "revoke"]))
        path = f"{base}/meter-keys/{_segment(draw, templates.kid)}/{action}"
        body = draw(bodies({"reason": "key leaked"}))
    elif endpoint == "bundle":
        suffix = draw(st.sampled_from(["", "/proof"]))
        path = f"{base}/bundles/{_segment(draw, templates.receipt_id)}{suffix}"
    elif endpoint == "usage":
        # Each parameter valid, hostile or absent, so that the odd one reaches
        # the range checks and the query behind valid neighbours.
        valid = {
            "metric": "api_requests",
            "group_by": draw(st.sampled_from(["hour", "day", "window", "week"])),
            "from": "2026-11-01T00:00:00Z",
            "to": draw(
                st.sampled_from(["2026-11-02T00:00:00Z", "2028-01-01T00:00:00Z"])
            ),
        }
        parts = []
        for name, value in valid.items():
            choice = draw(st.integers(0, 3))
            if choice == 0:
                continue
            if choice == 1:
                value = draw(st.sampled_from(HOSTILE_QUERY_VALUES))
            else:
                value = quote(value, safe="")
            parts.append(f"{name}={value}")
        path = f"{base}/usage" + ("?" + "&".join(parts) if parts else "")
    elif endpoint == "disputes":
        # Open (a valid body mutated), list, or a step on a hostile id.
        action = draw(
            st.sampled_from(["open", "list", "detail", "withdraw", "evidence"])
        )
        evidence = {
            "evidence_text": draw(st.sampled_from(HOSTILE_STRINGS)),
            "evidence_files": [
                {
                    "name": draw(st.sampled_from(["a.txt", *HOSTILE_STRINGS])),
                    "sha256": hashlib.sha256(b"x").hexdigest(),
                    "content_base64": draw(st.sampled_from(["eA==", "eA", "%%%"])),
                }
            ],
        }
        if action == "open":
            method, path = "POST", f"{base}/disputes"
            body = draw(
                bodies(
                    {
                        "receipt_id": templates.receipt_id,
                        "reason": draw(st.sampled_from(["duplicate", "nope"])),
                        **evidence,
                    }
                )
            )
        elif action == "list":
            path = f"{base}/disputes" + _query(draw, ["state", "cursor", "limit"])
        else:
            dispute_id = _segment(draw, "dp_" + "0" * 24)
            path = f"{base}/disputes/{dispute_id}"
            if action != "detail":
                method, path = "POST", f"{path}/{action}"
                body = draw(bodies(evidence)) if action == "evidence" else None
    elif endpoint == "transparency":
        name, params = draw(
            st.sampled_from(
                [
                    ("head", []),
                    ("inclusion", ["leaf_index", "leaf_hash", "tree_size"]),
                    ("consistency", ["first", "second"]),
                    ("entries", ["start", "end"]),
                    ("checkpoints", ["before"]),
                ]
            )
        )
        path = f"{base}/transparency/{name}" + _query(draw, params)
    elif endpoint == "cosignatures":
        method, path = "POST", f"{base}/transparency/cosignatures"
        body = draw(
            bodies(
                {
                    "cosignature": "— witness AAAA",
                    "tree_size": 1,
                    "root_hash": "0" * 64,
                }
            )
        )
    elif endpoint == "tlog":
        path = draw(
            st.sampled_from(
                [
                    "/tlog/checkpoint",
                    f"/tlog/tile/0/{_segment(draw, '000')}",
                    f"/tlog/tile/entries/{_segment(draw, '000')}",
                    f"/tlog/tile/{draw(st.sampled_from(['0', '7', '8', '99999999999999999999']))}/000.p/1",
                ]
            )
        )
    else:
        path = draw(
            st.sampled_from(
                [
                    "/.well-known/vdi-billing-trust.json",
                    "/.well-known/vdi-billing-revocation.json",
                    "/.well-known/%00",
                    "/api/%00",
                    "/api/vdi/billing/%ff",
                ]
            )
        )
    if body is not None or draw(st.integers(0, 9)) == 0:
        method = draw(st.sampled_from([method] * 6 + ["PUT", "PATCH", "DELETE"]))
    content_type = (
        draw(st.sampled_from(CONTENT_TYPES[:1] * 8 + CONTENT_TYPES))
        if body is not None
        else None
    )
    return HostileRequest(
        endpoint=endpoint,
        method=method,
        path=path,
        body=body,
        content_type=content_type,
        headers=extra,
        auth=auth,
    )


ENDPOINTS = [
    "attest",
    "batch",
    "verify",
    "meter-keys",
    "meter-key-action",
    "bundle",
    "usage",
    "disputes",
    "transparency",
    "cosignatures",
    "tlog",
    "well-known",
]

_CODE = re.compile(r"[a-z][a-z0-9_]*\Z")
#: Content types of the non-JSON answers (tiles and checkpoint notes).
_NON_JSON_OK = ("application/octet-stream", "text/plain")


def answer_problem(status: int, content_type: str, body: bytes) -> str | None:
    """Return what is wrong with an answer, or ``None``.

    Wrong: any 5xx; an error (status >= 400) whose body is not
    ``{"error": {"code": snake_case, "message": non-empty str, "field": str or
    null}}`` in JSON; a success whose body is not JSON, a tile or a note.
    """
    if status >= 500:
        return f"server error {status}: {body[:300]!r}"
    if status < 400:
        if status in (204, 304) or content_type.startswith(_NON_JSON_OK):
            return None
        try:
            json.loads(body.decode("utf-8"))
        except ValueError as exc:
            return f"{status} answer is not UTF-8 JSON: {exc}"
        return None
    if not content_type.startswith("application/json"):
        return f"error {status} answered as {content_type!r}: {body[:200]!r}"
    try:
        error = json.loads(body.decode("utf-8"))["error"]
    except (ValueError, KeyError, TypeError) as exc:
        return f"error {status} body is not the error shape ({exc}): {body[:200]!r}"
    if not (
        isinstance(error, dict)
        and set(error) == {"code", "message", "field"}
        and isinstance(error["code"], str)
        and _CODE.match(error["code"])
        and isinstance(error["message"], str)
        and error["message"]
        and (error["field"] is None or isinstance(error["field"], str))
    ):
        return f"error {status} body is not the error shape: {body[:300]!r}"
    return None


#: ``(status, content type, body)`` of one answer.
Answer = tuple[int, str, bytes]
Sender = Callable[[HostileRequest], Answer]


def fresh_event(tenant: str, event_id: str) -> dict[str, Any]:
    """A valid bare meter event of ``tenant`` that occurred a minute ago."""
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=60)
    return {
        "tenant": tenant,
        "event_id": event_id,
        "window": occurred.strftime("%Y-%m"),
        "metric": "api_requests",
        "quantity": 2,
        "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "attributes": {"route": "/v1/search", "method": "GET", "status": 200},
    }


def build_templates(send: Sender, tenant: str) -> Templates:
    """Make the valid bodies through the API itself: register a fresh gateway
    key (JWK), attest one event (bundle, receipt id), sign an envelope.

    Raises:
        RuntimeError: the API refused a valid request.
    """
    gateway = KeyPair.generate()
    jwk = public_jwk(gateway.verify_key)
    status, _, body = send(
        HostileRequest(
            "setup",
            "POST",
            "/api/vdi/billing/meter-keys",
            encode({"jwk": jwk}),
            "application/json",
        )
    )
    if status != 201:
        raise RuntimeError(f"registering a meter key answered {status}: {body!r}")
    event = fresh_event(tenant, f"fuzz-{uuid.uuid4().hex[:12]}")
    status, _, body = send(
        HostileRequest(
            "setup",
            "POST",
            "/api/vdi/billing/attest",
            encode(event),
            "application/json",
        )
    )
    if status not in (200, 201):
        raise RuntimeError(f"attesting an event answered {status}: {body!r}")
    bundle = json.loads(body)
    signed = fresh_event(tenant, f"fuzz-{uuid.uuid4().hex[:12]}")
    return Templates(
        event=fresh_event(tenant, "fuzz-template"),
        envelope={
            "event": signed,
            "kid": gateway.kid,
            "sig": sign_object(gateway.signing_key, CONTEXT_METER_ENVELOPE, signed),
        },
        bundle=bundle,
        jwk=jwk,
        kid=gateway.kid,
        receipt_id=bundle["attestation"]["receipt"]["receipt_id"],
    )


def django_client_sender(client: Any, api_key: str) -> Sender:
    """Send requests through a ``django.test.Client`` (in-process WSGI)."""

    def send(request: HostileRequest) -> Answer:
        headers = dict(request.headers)
        if request.auth:
            headers["Authorization"] = f"Bearer {api_key}"
        response = client.generic(
            request.method,
            request.path,
            data=request.body or b"",
            content_type=request.content_type or "",
            headers=headers,
        )
        return (
            response.status_code,
            response.get("Content-Type", ""),
            response.content,
        )

    return send
