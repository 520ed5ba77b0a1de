"""Regenerate ``poseidon_constants.json`` from an unpacked circomlibjs tarball.

Usage (see ``README.md`` next to this file)::

    cd /tmp && npm pack circomlibjs@0.1.7 && tar xzf circomlibjs-0.1.7.tgz
    python circuits/protocol/data/extract_poseidon_constants.py /tmp/package

The script reads, inside the unpacked package directory:

- ``package.json``: package name and version, recorded in the output;
- ``src/poseidon_constants.js``: the round constants ``C`` and MDS matrices
  ``M`` that circomlibjs's reference implementation
  (``src/poseidon_reference.js``) imports; its ``export default {...}`` body is
  plain JSON. It is cross-checked, value by value, against the package's
  ``src/poseidon_constants.json``;
- ``src/poseidon_reference.js``: ``N_ROUNDS_F`` and ``N_ROUNDS_P``.

It checks every shape (``len(C[t-2]) == t * (N_ROUNDS_F + N_ROUNDS_P[t-2])``,
``M[t-2]`` is ``t x t``, every value in ``[0, p)``) and writes the constants as
lowercase ``0x`` hex strings, exactly as the package spells them. Standard
library only; it never touches the network.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

SNARK_SCALAR_FIELD = (
    21888242871839275222246405745257275088548364400416034343698204186575808495617
)
CONSTANTS_JS = "src/poseidon_constants.js"
CONSTANTS_JSON = "src/poseidon_constants.json"
REFERENCE_JS = "src/poseidon_reference.js"
DEFAULT_OUTPUT = Path(__file__).with_name("poseidon_constants.json")
_HEX = re.compile(r"^0x[0-9a-f]+$")


def _to_int(value: Any) -> int:
    if not isinstance(value, str):
        raise ValueError(f"constant {value!r} is not a string")
    if _HEX.match(value):
        return int(value, 16)
    if value.isdigit():
        return int(value, 10)
    raise ValueError(f"constant {value!r} is neither 0x hex nor decimal")


def _parse_js_object(text: str) -> Any:
    start = text.index("export default")
    body = text[text.index("{", start) : text.rindex("}") + 1]
    return json.loads(body)


def _parse_rounds(text: str) -> tuple[int, list[int]]:
    full = re.search(r"const\s+N_ROUNDS_F\s*=\s*(\d+)\s*;", text)
    partial = re.search(r"const\s+N_ROUNDS_P\s*=\s*\[([\d,\s]+)\]\s*;", text)
    if full is None or partial is None:
        raise ValueError(f"{REFERENCE_JS}: N_ROUNDS_F / N_ROUNDS_P not found")
    return int(full.group(1)), [int(x) for x in partial.group(1).split(",")]


def extract(package_dir: Path) -> dict[str, Any]:
    """Return the constants document built from an unpacked package.

    Raises:
        ValueError: a file is missing a field, two sources disagree, or a shape
            or value is out of range.
    """
    meta = json.loads((package_dir / "package.json").read_text("utf-8"))
    from_js = _parse_js_object((package_dir / CONSTANTS_JS).read_text("utf-8"))
    from_json = json.loads((package_dir / CONSTANTS_JSON).read_text("utf-8"))
    n_rounds_f, n_rounds_p = _parse_rounds(
        (package_dir / REFERENCE_JS).read_text("utf-8")
    )
    c_all: list[list[str]] = from_js["C"]
    m_all: list[list[list[str]]] = from_js["M"]
    if len(c_all) != len(n_rounds_p) or len(m_all) != len(n_rounds_p):
        raise ValueError(
            f"{len(c_all)} C tables and {len(m_all)} M tables, "
            f"expected {len(n_rounds_p)} (one per N_ROUNDS_P entry)"
        )
    for key in ("C", "M"):
        a = json.dumps(from_js[key])
        b = json.dumps(from_json[key])
        ints_a = [_to_int(v) for v in re.findall(r'"([^"]+)"', a)]
        ints_b = [_to_int(v) for v in re.findall(r'"([^"]+)"', b)]
        if ints_a != ints_b:
            raise ValueError(f"{CONSTANTS_JS} and {CONSTANTS_JSON} differ in {key}")
    for idx, (c, m) in enumerate(zip(c_all, m_all, strict=True)):
        t = idx + 2
        expected = t * (n_rounds_f + n_rounds_p[idx])
        if len(c) != expected:
            raise ValueError(f"C[{idx}] has {len(c)} constants, expected {expected}")
        if len(m) != t or any(len(row) != t for row in m):
            raise ValueError(f"M[{idx}] is not {t}x{t}")
        for value in [*c, *(v for row in m for v in row)]:
            if not _HEX.match(value) or _to_int(value) >= SNARK_SCALAR_FIELD:
                raise ValueError(f"constant {value!r} is not a field element in hex")
    return {
        "package": meta["name"],
        "version": meta["version"],
        "license": meta["license"],
        "source_path": CONSTANTS_JS,
        "field_modulus": str(SNARK_SCALAR_FIELD),
        "n_rounds_f": n_rounds_f,
        "n_rounds_p": n_rounds_p,
        "widths": [i + 2 for i in range(len(c_all))],
        "C": c_all,
        "M": m_all,
    }


def main(argv: list[str] | None = None) -> int:
    """Write the constants JSON and print its SHA-256; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package_dir", type=Path, help="unpacked tarball ('package')")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    document = extract(args.package_dir)
    data = (json.dumps(document, indent=1) + "\n").encode("utf-8")
    args.output.write_bytes(data)
    print(
        f"{args.output}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
