"""Parse Apache combined-log lines into meter events (Django-free).

Format (Apache ``LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\"
\\"%{User-agent}i\\"" combined``)::

    83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /a.png HTTP/1.1" 200 203023 "-" "UA"

Each line becomes one ``api_requests`` meter event of quantity 1 with the route
(path without query string), method, status and response bytes (``-`` = 0).
The client address never leaves this module raw: the tenant is a keyed hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from kernel.protocol.timefmt import format_rfc3339_utc

_LINE = re.compile(
    r"^(?P<host>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] "
    r'"(?P<request>[^"]*)" (?P<status>\d{3}) (?P<bytes>\d+|-) '
    r'"(?P<referer>[^"]*)" "(?P<agent>[^"]*)"$'
)
_TIME = re.compile(
    r"^(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        (
            "Jan",
            "Feb",
            "Mar",
            "Apr",
            "May",
            "Jun",
            "Jul",
            "Aug",
            "Sep",
            "Oct",
            "Nov",
            "Dec",
        ),
        1,
    )
}
_REQUEST = re.compile(r"^(?P<method>[A-Z]{1,16}) (?P<target>\S+) HTTP/\d\.\d$")


class LogLineError(ValueError):
    """A line that is not strict combined log format; ``str()`` is the reason."""


@dataclass(frozen=True)
class AccessLogRecord:
    """One parsed request (the client address is kept only for hashing)."""

    client: str
    occurred_at: datetime
    method: str
    route: str
    status: int
    size_bytes: int


def parse_line(line: str) -> AccessLogRecord:
    """Parse one combined-format line (without its newline).

    Raises:
        LogLineError: the line, its timestamp or its request line is malformed.
    """
    match = _LINE.match(line)
    if not match:
        raise LogLineError(
            "not Apache combined log format (unbalanced quotes or missing fields)"
        )
    time_match = _TIME.match(match.group("time"))
    if not time_match or time_match.group(2) not in _MONTHS:
        raise LogLineError(f"bad timestamp {match.group('time')!r}")
    day, mon, year, hh, mm, ss, sign, oh, om = time_match.groups()
    offset = timedelta(hours=int(oh), minutes=int(om)) * (1 if sign == "+" else -1)
    try:
        local = datetime(
            int(year),
            _MONTHS[mon],
            int(day),
            int(hh),
            int(mm),
            int(ss),
            tzinfo=timezone(offset),
        )
    except ValueError as exc:
        raise LogLineError(f"bad timestamp: {exc}") from exc
    request = _REQUEST.match(match.group("request"))
    if not request:
        raise LogLineError(f"bad request line {match.group('request')[:80]!r}")
    raw_bytes = match.group("bytes")
    return AccessLogRecord(
        client=match.group("host"),
        occurred_at=local.astimezone(UTC),
        method=request.group("method"),
        route=request.group("target").split("?", 1)[0][:1024],
        status=int(match.group("status")),
        size_bytes=0 if raw_bytes == "-" else int(raw_bytes),
    )


def tenant_surrogate(client: str, key: bytes) -> str:
    """Return ``ip-`` + 16 hex of HMAC-SHA256(key, client): a stable tenant slug
    that does not reveal the address (personal data) without the key."""
    return (
        "ip-" + hmac.new(key, client.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
    )


def event_id_for(line_number: int, line: str) -> str:
    """Return ``log-`` + 32 hex of SHA-256(line number, line): the same line at the
    same position always gives the same id (re-imports are idempotent) while
    byte-identical lines at different positions stay distinct events."""
    digest = hashlib.sha256(f"{line_number}\n{line}".encode()).hexdigest()
    return f"log-{digest[:32]}"


def record_to_event(
    record: AccessLogRecord, *, tenant: str, event_id: str
) -> dict[str, Any]:
    """Return the meter event JSON of a parsed line (window = its UTC month)."""
    return {
        "tenant": tenant,
        "event_id": event_id,
        "window": record.occurred_at.strftime("%Y-%m"),
        "metric": "api_requests",
        "quantity": 1,
        "occurred_at": format_rfc3339_utc(record.occurred_at),
        "attributes": {
            "route": record.route,
            "method": record.method,
            "status": record.status,
            "bytes": record.size_bytes,
        },
    }
