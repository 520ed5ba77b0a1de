"""Write transcript.json from a scripts/ceremony.sh run and copy the artifacts.

usage: python scripts/ceremony_transcript.py RUN_DIR DEST_DIR \
           --beacon-source TEXT [--tools DIR]

Reads RUN_DIR/logs/*.log (snarkjs output of every step), cross-checks each
contribution hash printed at contribution time against ``powersoftau verify``
/ ``zkey verify``, hashes every intermediate ptau/zkey, and copies the shipped
files (r1cs, wasm, witness_calculator.js, final zkey, verification key, final
ptau) into DEST_DIR. Then run ``manage.py artifacts build`` and
``manage.py artifacts sign``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from circuits.ceremony import (  # noqa: E402
    parse_hash_after,
    parse_ptau_verify,
    parse_zkey_verify,
)
from circuits.protocol.r1cs import read_r1cs_header  # noqa: E402

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _log(run: Path, name: str) -> str:
    return _ANSI.sub("", (run / "logs" / f"{name}.log").read_text())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _version(tools: Path, package: str) -> str:
    data = json.loads((tools / "node_modules" / package / "package.json").read_text())
    return str(data["version"])


def main() -> int:
    """Build the transcript; return the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--beacon-source", required=True)
    parser.add_argument("--tools", type=Path, default=Path("/work/scratch/ceremony"))
    parser.add_argument(
        "--hosts", default="one host; each contributor a separate process"
    )
    args = parser.parse_args()
    run, dest = args.run, args.dest

    compile_log = _log(run, "compile")
    circom_version = re.search(
        r"circom compiler (\S+)",
        _ANSI.sub("", (run / "logs" / "circom_version.log").read_text()),
    )
    phase1 = parse_ptau_verify(_log(run, "p1_verify"))
    zkey = parse_zkey_verify(_log(run, "p2_verify"))
    if not zkey.ok or "Powers of Tau Ok!" not in _log(run, "p1_verify"):
        print("verification logs do not say OK", file=sys.stderr)
        return 1
    # Cross-check: the hash each contributor published equals the verified one.
    ptau_files = sorted(run.glob("pot_0*.ptau"))
    for entry in phase1:
        log_name = (
            "p1_beacon" if "beacon" in entry else f"p1_contribute_{entry['name']}"
        )
        published = parse_hash_after(
            _log(run, log_name), "Contribution Response Hash imported"
        )
        if published != entry["contribution_hash"]:
            print(
                f"phase 1 {entry['name']}: {published} != {entry['contribution_hash']}",
                file=sys.stderr,
            )
            return 1
        entry["published_in_log"] = f"logs/{log_name}.log"
    zkey_files = sorted(run.glob("apiBillingV2_0*.zkey"))
    for entry in zkey.contributions:
        log_name = (
            "p2_beacon" if "beacon" in entry else f"p2_contribute_{entry['name']}"
        )
        published = parse_hash_after(_log(run, log_name), "Contribution Hash:")
        if published != entry["contribution_hash"]:
            print(
                f"phase 2 {entry['name']}: {published} != {entry['contribution_hash']}",
                file=sys.stderr,
            )
            return 1
        index = entry["index"]
        out = (
            run / "apiBillingV2_final.zkey"
            if "beacon" in entry
            else run / f"apiBillingV2_{index:04d}.zkey"
        )
        entry["output_zkey"] = out.name
        entry["output_zkey_sha256"] = _sha256(out)
    header = read_r1cs_header((run / "build" / "apiBillingV2.r1cs").read_bytes())
    power = int(
        re.search(r"POWER=(\d+)", (run / "logs" / "params.env").read_text()).group(1)
    )
    beacon_entry = next(e for e in zkey.contributions if "beacon" in e)
    transcript = {
        "format": "vdi-ceremony-transcript/1",
        "circuit": "apiBillingV2",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "hosts": args.hosts,
        "toolchain": {
            "circom2_npm": _version(args.tools, "circom2"),
            "circom": circom_version.group(1) if circom_version else "unknown",
            "circom_flags": "--O2 --r1cs --wasm --sym",
            "circomlib": _version(args.tools, "circomlib"),
            "snarkjs": _version(args.tools, "snarkjs"),
            "node": (run / "logs" / "node_version.log").read_text().strip(),
        },
        "circuit_counts": {
            **header.to_json(),
            "compiler_output": [
                line.strip()
                for line in compile_log.splitlines()
                if re.match(
                    r"\s*(non-linear constraints|linear constraints|public inputs|private inputs|public outputs|wires|labels):",
                    line,
                )
            ],
        },
        "beacon": {
            "value": beacon_entry["beacon"],
            "iterations_exp": beacon_entry["beacon_iterations_exp"],
            "source": args.beacon_source,
        },
        "phase1": {
            "curve": "bn128",
            "power": power,
            "max_constraints": 2**power,
            "contributions": phase1,
            "ptau_sha256": {p.name: _sha256(p) for p in ptau_files}
            | {"pot_beacon.ptau": _sha256(run / "pot_beacon.ptau")},
            "prepared_ptau": "pot9_final.ptau",
            "prepared_ptau_sha256": _sha256(run / "pot_final.ptau"),
            "verify": "snarkjs powersoftau verify: Powers of Tau Ok!",
        },
        "phase2": {
            "snarkjs_circuit_hash": zkey.circuit_hash,
            "initial_zkey_sha256": _sha256(run / "apiBillingV2_0000.zkey"),
            "contributions": zkey.contributions,
            "final_zkey_sha256": _sha256(run / "apiBillingV2_final.zkey"),
            "verify": "snarkjs zkey verify apiBillingV2.r1cs pot9_final.ptau apiBillingV2_final.zkey: ZKey Ok!",
        },
        "zkey_sha256": {p.name: _sha256(p) for p in zkey_files},
    }
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "apiBillingV2_js").mkdir(exist_ok=True)
    copies = {
        run / "build" / "apiBillingV2.r1cs": dest / "apiBillingV2.r1cs",
        run / "build" / "apiBillingV2_js" / "apiBillingV2.wasm": dest
        / "apiBillingV2_js"
        / "apiBillingV2.wasm",
        run / "build" / "apiBillingV2_js" / "witness_calculator.js": dest
        / "apiBillingV2_js"
        / "witness_calculator.js",
        run / "build" / "apiBillingV2_js" / "generate_witness.js": dest
        / "apiBillingV2_js"
        / "generate_witness.js",
        run / "apiBillingV2_final.zkey": dest / "apiBillingV2_final.zkey",
        run / "verification_key.json": dest / "verification_key.json",
        run / "pot_final.ptau": dest / "pot9_final.ptau",
    }
    for src, dst in copies.items():
        shutil.copyfile(src, dst)
    (dest / "transcript.json").write_text(json.dumps(transcript, indent=2) + "\n")
    print(f"wrote {dest / 'transcript.json'} and {len(copies)} artifacts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
