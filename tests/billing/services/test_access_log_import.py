"""Backfilling an Apache access log (the demo's real input)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from billing.access_log import LogLineError, event_id_for, parse_line, tenant_surrogate
from billing.models import Bundle, Tenant
from billing.services.access_log import access_log_import
from billing.services.demo import demo_seed

pytestmark = pytest.mark.django_db
LOG = Path(settings.BASE_DIR) / "data" / "access-logs" / "apache_logs"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """The first 40 lines of the real log, the real malformed line 8899, and a
    byte-identical repeat of line 1 (the log has 19 such repeats)."""
    lines = LOG.read_text().split("\n")
    chosen = lines[:40] + [lines[8898], lines[0]]
    path = tmp_path / "sample.log"
    path.write_text("\n".join(chosen) + "\n")
    return path


def test_parse_line_maps_the_fields() -> None:
    """Line 5 of the README: method, route without query, status, bytes, UTC time."""
    record = parse_line(
        '83.149.9.216 - - [17/May/2015:10:05:07 +0000] "GET /presentations/logstash-monitorama-2013/'
        'plugin/notes/notes.js?x=1 HTTP/1.1" 200 2892 "http://semicomplete.com/" "Mozilla/5.0"'
    )
    assert record.method == "GET" and record.status == 200 and record.size_bytes == 2892
    assert (
        record.route == "/presentations/logstash-monitorama-2013/plugin/notes/notes.js"
    )
    assert record.occurred_at.isoformat() == "2015-05-17T10:05:07+00:00"


def test_dash_bytes_are_zero_and_offsets_convert() -> None:
    """``-`` bytes is 0; a +0200 offset converts to UTC."""
    record = parse_line(
        '1.2.3.4 - - [17/May/2015:10:05:07 +0200] "HEAD / HTTP/1.0" 304 - "-" "-"'
    )
    assert record.size_bytes == 0 and record.occurred_at.hour == 8


@pytest.mark.parametrize(
    "line",
    [
        "",
        "garbage",
        '1.2.3.4 - - [17/May/2015:10:05:07 +0000] "GET / HTTP/1.1" 200 5 "-" "unterminated',
        '1.2.3.4 - - [17/Foo/2015:10:05:07 +0000] "GET / HTTP/1.1" 200 5 "-" "-"',
        '1.2.3.4 - - [31/Feb/2015:10:05:07 +0000] "GET / HTTP/1.1" 200 5 "-" "-"',
        '1.2.3.4 - - [17/May/2015:10:05:07 +0000] "NONSENSE" 200 5 "-" "-"',
    ],
)
def test_malformed_lines_raise(line: str) -> None:
    """Malformed lines are refused with a reason."""
    with pytest.raises(LogLineError):
        parse_line(line)


def test_surrogates_hide_the_address_and_are_stable() -> None:
    """The tenant slug is a keyed hash: stable per key, different across keys."""
    a = tenant_surrogate("83.149.9.216", b"k1")
    assert a == tenant_surrogate("83.149.9.216", b"k1")
    assert a != tenant_surrogate("83.149.9.216", b"k2")
    assert "83.149.9.216" not in a and len(a) == 19


def test_event_ids_separate_repeated_lines() -> None:
    """Identical lines at different positions are different events."""
    assert event_id_for(1, "x") != event_id_for(2, "x")
    assert event_id_for(1, "x") == event_id_for(1, "x")


def test_import_reconciles_and_is_idempotent(signing_keys: Any, sample: Path) -> None:
    """lines == attested + duplicates + rejected; a re-import attests nothing new."""
    demo_seed()
    lines = sample.read_text().split("\n")[:-1]
    first = access_log_import(lines=lines, tenant_by="ip", batch_size=16).to_json()
    assert first["lines"] == 42
    assert first["attested"] == 41 and first["duplicates"] == 0
    assert [r["line"] for r in first["rejected"]] == [41]
    assert first["rejected"][0]["reason"].startswith("malformed_line")
    assert first["amount_minor_total"] == 41 * 2
    assert first["periods"] == {"2015-05": 41}
    distinct_ips = {line.split(" ", 1)[0] for i, line in enumerate(lines) if i != 40}
    assert first["tenants"] == len(distinct_ips)
    assert Tenant.objects.filter(is_surrogate=True).count() == len(distinct_ips)
    assert not Tenant.objects.filter(slug__contains="83.149").exists()
    second = access_log_import(lines=lines, tenant_by="ip", batch_size=7).to_json()
    assert (
        second["attested"] == 0
        and second["duplicates"] == 41
        and second["amount_minor_total"] == 0
    )
    assert second["periods"] == {"2015-05": 41}
    assert Bundle.objects.count() == 41
    receipt = json.loads(Bundle.objects.first().document)["attestation"]["receipt"]
    assert receipt["backfilled"] is True


def test_import_command_prints_json_summary(signing_keys: Any, sample: Path) -> None:
    """``import_access_log --json`` prints the summary as one JSON object."""
    demo_seed()
    out = StringIO()
    call_command(
        "import_access_log",
        str(sample),
        "--tenant-by",
        "none",
        "--tenant",
        "demo",
        "--json",
        stdout=out,
    )
    summary = json.loads(out.getvalue())
    assert summary["lines"] == summary["attested"] + summary["duplicates"] + len(
        summary["rejected"]
    )
    assert summary["tenants"] == 1


def test_periods_count_each_utc_month(signing_keys: Any, tmp_path: Path) -> None:
    """``periods`` counts the events attested or already attested per billing
    period, the UTC month of each line (a local time of 1 June 01:30 +0200 is
    31 May UTC); a malformed line counts in none."""
    demo_seed()
    lines = [
        '1.2.3.4 - - [31/May/2015:23:59:59 +0000] "GET / HTTP/1.1" 200 5 "-" "-"',
        '1.2.3.4 - - [01/Jun/2015:01:30:00 +0200] "GET / HTTP/1.1" 200 5 "-" "-"',
        '1.2.3.4 - - [01/Jun/2015:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "-"',
        "garbage",
    ]
    first = access_log_import(lines=lines, tenant_by="none").to_json()
    assert first["periods"] == {"2015-05": 2, "2015-06": 1}
    again = access_log_import(lines=lines[:2], tenant_by="none").to_json()
    assert again["duplicates"] == 2 and again["periods"] == {"2015-05": 2}


def test_no_proofs_attests_without_proofs(
    signing_keys: Any, sample: Path, settings: Any
) -> None:
    """``--no-proofs`` attests every line without a Groth16 proof even with the
    in-circuit binding on (which would prove each event)."""
    settings.VDI_BILLING_INCIRCUIT_BINDING = True
    demo_seed()
    out = StringIO()
    call_command(
        "import_access_log",
        str(sample),
        "--tenant-by",
        "none",
        "--no-proofs",
        "--json",
        stdout=out,
    )
    assert json.loads(out.getvalue())["attested"] == 41
    statuses = set(Bundle.objects.values_list("proof_status", flat=True))
    assert statuses == {Bundle.ProofStatus.NONE}


def test_import_by_ip_needs_the_surrogate_key(
    signing_keys: Any, sample: Path, settings: Any
) -> None:
    """Without VDI_TENANT_SURROGATE_KEY the import refuses to guess."""
    from django.core.management.base import CommandError

    settings.VDI_TENANT_SURROGATE_KEY = ""
    with pytest.raises(CommandError, match="surrogate_key_missing"):
        call_command("import_access_log", str(sample), "--json", stdout=StringIO())
