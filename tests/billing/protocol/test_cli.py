"""The offline verifier CLI ``meterproof`` (cli.py): exit codes 0/1/2 and output."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from billing.protocol.cli import main

from .builders import (
    Keys,
    event_json,
    log_bundles,
    make_attestation,
    volume_tariff_json,
)

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def keys() -> Keys:
    """Fresh keys for this module."""
    return Keys.generate()


@pytest.fixture(scope="module")
def bundles(keys: Keys) -> list[dict[str, Any]]:
    """Three valid bundles of one log batch (quantities 1, 2, 3)."""
    atts = [
        make_attestation(keys, event=event_json(event_id=f"evt_{q}", quantity=q))
        for q in (1, 2, 3)
    ]
    return log_bundles(keys, atts)


def _write(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


@pytest.fixture
def layout(tmp_path: Path, keys: Keys, bundles: list[dict[str, Any]]) -> Path:
    """tmp_path/trust.json and tmp_path/bundles/b{0,1,2}.json."""
    _write(tmp_path / "trust.json", keys.trust().to_json())
    for i, bundle in enumerate(bundles):
        _write(tmp_path / "bundles" / f"b{i}.json", bundle)
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """Run the CLI (``verify`` with ``--json``); return code, parsed JSON, stderr."""
    code = main([*argv, "--json"] if argv[0] == "verify" else list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def test_directory_of_valid_bundles_exits_0(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """All valid: exit 0, totals (1+2+3 units at 700 = 4200) and every report ok."""
    code, out, _ = _run(
        capsys, "verify", str(layout / "bundles"), "--trust", str(layout / "trust.json")
    )
    assert code == 0
    assert out["ok"] is True
    assert (out["bundles"], out["valid"], out["invalid"]) == (3, 3, 0)
    assert out["amount_minor_total"] == 700 + 1400 + 2100
    assert all(r["ok"] for r in out["reports"])


def test_multiple_files_exit_0(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bundle files listed one by one verify like a directory."""
    files = [str(layout / "bundles" / f"b{i}.json") for i in range(3)]
    code, out, _ = _run(capsys, "verify", *files, "--trust", str(layout / "trust.json"))
    assert code == 0
    assert [r["file"] for r in out["reports"]] == files


def test_trust_file_inside_the_bundle_directory_is_not_a_bundle(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The trust file is excluded when its directory is scanned."""
    code, out, _ = _run(
        capsys, "verify", str(layout), "--trust", str(layout / "trust.json")
    )
    assert code == 0
    assert out["bundles"] == 3


def test_one_tampered_bundle_exits_1_and_is_listed(
    layout: Path, bundles: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """A changed amount makes exit 1; the report names the file and failed checks."""
    bad = copy.deepcopy(bundles[1])
    bad["attestation"]["charge"]["amount_minor"] += 1
    bad_path = _write(layout / "bundles" / "b1.json", bad)
    code, out, _ = _run(
        capsys,
        "verify",
        str(layout / "bundles"),
        "--trust",
        str(layout / "trust.json"),
        "--failures-only",
    )
    assert code == 1
    assert (out["valid"], out["invalid"]) == (2, 1)
    (report,) = out["reports"]
    assert report["file"] == str(bad_path)
    failed = {c["name"] for c in report["checks"] if c["status"] == "fail"}
    assert {"charge_recompute", "issuer_signature", "log_inclusion"} <= failed
    assert out["failed_checks"]["charge_recompute"] == 1
    assert out["amount_minor_total"] == 700 + 2100


@pytest.mark.parametrize(
    "content",
    [b"not json", b"\xff\xfe", b"", b"[" * 100_000, b"null", b"1.5"],
    ids=["text", "binary", "empty", "too-deep", "null", "float"],
)
def test_non_bundle_file_counts_as_invalid_not_unusable(
    layout: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    """A file that is not a bundle is an invalid bundle (exit 1), not exit 2."""
    (layout / "bundles" / "junk.json").write_bytes(content)
    code, out, _ = _run(
        capsys, "verify", str(layout / "bundles"), "--trust", str(layout / "trust.json")
    )
    assert code == 1
    (report,) = [r for r in out["reports"] if r["file"].endswith("junk.json")]
    assert [c["name"] for c in report["checks"]] == ["bundle_format"]
    assert report["checks"][0]["status"] == "fail"


def _trust_with(layout: Path, edit: Any) -> str:
    doc = json.loads((layout / "trust.json").read_text())
    edit(doc)
    return str(_write(layout / "other-trust.json", doc))


@pytest.mark.parametrize(
    "case",
    [
        "missing-path",
        "missing-trust",
        "malformed-trust",
        "trust-wrong-kid",
        "no-bundles",
    ],
)
def test_unusable_input_exits_2(
    layout: Path, keys: Keys, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """Missing paths, bad trust anchors or no bundle at all: exit 2 and a message."""
    trust = str(layout / "trust.json")
    paths = [str(layout / "bundles")]
    if case == "missing-path":
        paths.append(str(layout / "nope.json"))
    elif case == "missing-trust":
        trust = str(layout / "nope-trust.json")
    elif case == "malformed-trust":
        (layout / "bad-trust.json").write_text("{not json")
        trust = str(layout / "bad-trust.json")
    elif case == "trust-wrong-kid":
        trust = _trust_with(
            layout, lambda d: d["keys"][0].update(kid=d["keys"][1]["kid"])
        )
    elif case == "no-bundles":
        (layout / "empty").mkdir()
        paths = [str(layout / "empty")]
    code, out, err = _run(capsys, "verify", *paths, "--trust", trust)
    assert code == 2
    assert out is None
    assert err.startswith("meterproof: ")


def test_jobs_2_gives_the_same_verdicts_as_jobs_1(
    tmp_path: Path, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    """On 210 bundles (one tampered) the parallel run matches the serial one."""
    atts = [
        make_attestation(keys, event=event_json(event_id=f"evt_{i}", quantity=i))
        for i in range(210)
    ]
    built = log_bundles(keys, atts)
    built[137]["log"]["leaf_index"] += 1
    for i, bundle in enumerate(built):
        _write(tmp_path / "b" / f"{i:03}.json", bundle)
    _write(tmp_path / "trust.json", keys.trust().to_json())
    runs = {}
    for jobs in ("1", "2"):
        code, out, _ = _run(
            capsys,
            "verify",
            str(tmp_path / "b"),
            "--trust",
            str(tmp_path / "trust.json"),
            "--jobs",
            jobs,
            "--compact",
        )
        assert code == 1
        runs[jobs] = out
    assert runs["1"] == runs["2"]
    verdicts = [(r["file"], r["ok"]) for r in runs["1"]["reports"]]
    assert len(verdicts) == 210
    assert [f for f, ok in verdicts if not ok] == [str(tmp_path / "b" / "137.json")]
    assert runs["1"]["failed_checks"] == {"log_inclusion": 1}


def test_price_on_stripe_volume_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stripe's volume example: 6 units all at 6.50 USD = 3900 minor units."""
    tariff = _write(tmp_path / "tariff.json", volume_tariff_json())
    code, out, _ = _run(capsys, "price", "--tariff", str(tariff), "--quantity", "6")
    assert code == 0
    assert out["amount_minor"] == 3900
    assert out["currency"] == "USD"
    assert out["quantity"] == 6


@pytest.mark.parametrize("case", ["bad-tariff", "not-json", "missing", "negative"])
def test_price_with_bad_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """A malformed tariff, unreadable file or negative quantity exits 2."""
    tariff = volume_tariff_json()
    quantity = "6"
    path = tmp_path / "tariff.json"
    if case == "bad-tariff":
        tariff["currency"] = "usd"
    if case == "negative":
        quantity = "-1"
    if case == "not-json":
        path.write_text("{")
    elif case != "missing":
        _write(path, tariff)
    code, out, err = _run(
        capsys, "price", "--tariff", str(path), "--quantity", quantity
    )
    assert code == 2
    assert out is None
    assert err.startswith("meterproof: ")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    env["PYTHONPATH"] = str(REPO)
    return env


def test_python_m_billing_protocol_runs_the_cli(layout: Path) -> None:
    """`python -m billing.protocol verify` exits 0 on valid bundles, 2 on no input."""
    argv = [sys.executable, "-m", "billing.protocol", "verify"]
    trust = ["--trust", str(layout / "trust.json")]
    ok = subprocess.run(
        [*argv, str(layout / "bundles"), *trust, "--compact"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=_env(),
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["valid"] == 3
    missing = subprocess.run(
        [*argv, str(layout / "missing"), *trust],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=_env(),
        timeout=60,
    )
    assert missing.returncode == 2
    assert "no such file" in missing.stderr


def test_cli_and_verifier_do_not_import_django() -> None:
    """Importing the CLI and the verifier in a fresh interpreter loads no django."""
    code = (
        "import sys\n"
        "import billing.protocol.cli, billing.protocol.verify\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'django')\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=_env(),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_default_output_is_a_summary_and_json_is_opt_in(
    layout: Path, bundles: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --json verify prints a short summary (counts, failed checks by
    name, the invalid file), not every report; the exit code is unchanged."""
    bad = copy.deepcopy(bundles[1])
    bad["attestation"]["charge"]["amount_minor"] += 1
    bad_path = _write(layout / "bundles" / "b1.json", bad)
    argv = ["verify", str(layout / "bundles"), "--trust", str(layout / "trust.json")]
    assert main(argv) == 1
    out = capsys.readouterr().out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)
    assert "3 bundles" in out and "2 valid, 1 invalid" in out
    assert "charge_recompute" in out and str(bad_path) in out
    assert len(out.splitlines()) < 20
    assert main([*argv, "--json"]) == 1
    full = json.loads(capsys.readouterr().out)
    assert len(full["reports"]) == 3 and full["invalid"] == 1


def test_piped_into_head_exits_without_a_traceback(
    layout: Path, bundles: list[dict[str, Any]]
) -> None:
    """`meterproof verify ... --json | head -c 100`: the reader closes the pipe
    early; the CLI stops quietly (no BrokenPipeError traceback on stderr) and
    still exits with the verdict."""
    for k in range(60):  # a JSON report well over a pipe buffer (64 KiB)
        _write(layout / "bundles" / f"copy{k:02d}.json", bundles[k % 3])
    argv = [sys.executable, "-m", "billing.protocol", "verify", str(layout / "bundles")]
    proc = subprocess.Popen(
        [*argv, "--trust", str(layout / "trust.json"), "--json", "--jobs", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100).startswith(b"{")
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err
