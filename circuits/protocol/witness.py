"""circom's wasm witness calculator under ``wasmtime``, and the iden3 ``.wtns`` format.

Django-free. :class:`WitnessCalculator` runs the ``<circuit>.wasm`` that
``circom --wasm`` emits (for this project the manifest-pinned
``circuits/apiBillingV2/apiBillingV2_js/apiBillingV2.wasm``) with the
``wasmtime`` package (Bytecode Alliance, Cranelift JIT) and speaks the host
protocol of the ``witness_calculator.js`` circom ships beside it (the copy in
``apiBillingV2_js/`` is the reference this module ports):

- imports ``runtime.exceptionHandler(code)`` (1 signal not found, 2 too many
  signals set, 3 signal already set, 4 assert failed, 5 not enough memory,
  6 input signal array access exceeds the size, 7 out of bounds array
  access), ``runtime.printErrorMessage()``, ``runtime.writeBufferMessage()``
  and ``runtime.showSharedRWMemory()``; messages are read a character at a
  time with the ``getMessageChar`` export;
- field elements travel through the *shared RW memory*: ``n32 =
  getFieldNumLen32()`` 32-bit words, least significant word first
  (``readSharedRWMemory(j)`` / ``writeSharedRWMemory(j, word)``);
  ``getRawPrime()`` puts the field prime there;
- a calculation is ``init(sanityCheck)``; for every input signal
  ``getInputSignalSize(hMSB, hLSB)`` (the 64-bit FNV-1a hash of its
  qualified name, split in two 32-bit halves; negative means unknown), then
  for each of its values the value in the shared memory and
  ``setInputSignal(hMSB, hLSB, index)``; the circuit runs when the last
  input is set; then ``getWitness(i)`` for ``i < getWitnessSize()`` puts
  wire ``i`` (in the r1cs wire order, ``--O2`` witness map applied) in the
  shared memory.

The two loops that would otherwise cost one Python-to-wasm call per word
(writing inputs, reading the ~400 x 8 witness words) run in a 40-line
helper module (WebAssembly text in :data:`_HELPER_WAT`) that imports the
calculator's own exports ``writeSharedRWMemory``, ``setInputSignal``,
``getWitness`` and ``readSharedRWMemory`` and copies words to and from its
own memory: the protocol is exactly the JS one, only the loop runs inside
wasm. The helper's output is the ``.wtns`` section-2 body byte for byte
(``calculateBinWitness`` in ``witness_calculator.js``).

Threads: the compiled :class:`wasmtime.Module` is shared (one per process
and wasm digest, compiled on first use, about 0.6 s); a ``wasmtime.Store``
and its instances are not thread-safe, so each thread gets its own
instance pair (``threading.local``), created on first use (about 2 ms) and
thrown away after any failure. Calls into wasm go through ``ctypes`` and
release the GIL, so threads compute witnesses in parallel.

``.wtns`` (iden3 binary container, snarkjs ``src/wtns_utils.js``,
``witness_calculator.js`` ``calculateWTNSBin``), all little-endian::

    "wtns" | version u32 (=2) | n_sections u32 (=2)
    section 1: type u32 (=1) | size u64 (=8 + n8) | n8 u32 | prime[n8] | n_witness u32
    section 2: type u32 (=2) | size u64 (=n8 * n_witness) | n_witness x value[n8]

where every value is a canonical field element (``< prime``).
"""

from __future__ import annotations

import hashlib
import logging
import struct
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import wasmtime

from circuits.protocol.binfile import BinFileError, read_bin_file
from circuits.protocol.errors import (
    ProverInputError,
    ProverUnavailableError,
    WitnessFileError,
    WitnessValueError,
)

__all__ = [
    "CIRCOM_EXCEPTION_MESSAGES",
    "WitnessCalculator",
    "Wtns",
    "fnv1a_64",
    "read_wtns",
    "wtns_bytes",
]

logger = logging.getLogger("meterproof.circuits.witness")

#: ``runtime.exceptionHandler`` codes, as ``witness_calculator.js`` words them.
CIRCOM_EXCEPTION_MESSAGES = {
    1: "Signal not found.",
    2: "Too many signals set.",
    3: "Signal already set.",
    4: "Assert Failed.",
    5: "Not enough memory.",
    6: "Input signal array access exceeds the size.",
    7: "Out of bounds array access.",
}

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_U64 = (1 << 64) - 1
_WASM_PAGE = 65536
_WTNS_MAGIC = b"wtns"
_WTNS_VERSION = 2

# Copies words between its own memory ("buffer") and the calculator's shared
# RW memory using only the calculator's exports; see the module docstring.
_HELPER_WAT = r"""
(module
  (import "calc" "writeSharedRWMemory" (func $write (param i32 i32)))
  (import "calc" "readSharedRWMemory" (func $read (param i32) (result i32)))
  (import "calc" "setInputSignal" (func $set (param i32 i32 i32)))
  (import "calc" "getWitness" (func $get (param i32)))
  (memory (export "buffer") 1)
  ;; setInputSignal(hMSB, hLSB, i) for i < count; value i is n32 words at
  ;; buffer[src + 4 * n32 * i], least significant word first.
  (func (export "setInputs")
        (param $hmsb i32) (param $hlsb i32) (param $count i32)
        (param $src i32) (param $n32 i32)
    (local $i i32) (local $j i32) (local $p i32)
    (local.set $p (local.get $src))
    (block $done
      (loop $value
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $j (i32.const 0))
        (block $words_done
          (loop $word
            (br_if $words_done (i32.ge_u (local.get $j) (local.get $n32)))
            (call $write (local.get $j) (i32.load (local.get $p)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $word)))
        (call $set (local.get $hmsb) (local.get $hlsb) (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $value))))
  ;; getWitness(i) for i < count; wire i goes to buffer[4 * n32 * i].
  (func (export "getWitnesses") (param $count i32) (param $n32 i32)
    (local $i i32) (local $j i32) (local $p i32)
    (block $done
      (loop $wire
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (call $get (local.get $i))
        (local.set $j (i32.const 0))
        (block $words_done
          (loop $word
            (br_if $words_done (i32.ge_u (local.get $j) (local.get $n32)))
            (i32.store (local.get $p) (call $read (local.get $j)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $word)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $wire))))
)
"""

_REQUIRED_EXPORTS = (
    "memory",
    "getVersion",
    "getFieldNumLen32",
    "getRawPrime",
    "readSharedRWMemory",
    "writeSharedRWMemory",
    "init",
    "getInputSignalSize",
    "setInputSignal",
    "getInputSize",
    "getWitnessSize",
    "getWitness",
    "getMessageChar",
)
_OPTIONAL_EXPORTS = ("getMinorVersion", "getPatchVersion")


def fnv1a_64(name: str) -> int:
    """Return the 64-bit FNV-1a hash circom uses to look up an input signal.

    Port of ``fnvHash`` in ``witness_calculator.js``: offset basis
    ``0xCBF29CE484222325``, prime ``0x100000001B3``, one round per UTF-16
    code unit (``String.charCodeAt``) of the qualified signal name. The JS
    returns 16 hex digits; the high and low 32 bits are the ``hMSB`` and
    ``hLSB`` arguments of ``getInputSignalSize``/``setInputSignal``.
    """
    digest = _FNV_OFFSET
    units = name.encode("utf-16-le")
    for index in range(0, len(units), 2):
        digest ^= units[index] | (units[index + 1] << 8)
        digest = (digest * _FNV_PRIME) & _U64
    return digest


def _i32(value: int) -> int:
    """Return a u32 as the signed i32 wasm arguments carry."""
    return value - (1 << 32) if value & 0x80000000 else value


def _flatten(value: Any, name: str, out: list[int]) -> None:
    if isinstance(value, (list, tuple)):
        for item in value:
            _flatten(item, name, out)
    elif type(value) is int:
        out.append(value)
    else:
        raise ProverInputError(
            f"input signal {name} holds a {type(value).__name__}, expected ints",
            field=name,
        )


def _qualify(prefix: str, value: Any, out: dict[str, Any]) -> None:
    """Port of ``qualify_input``: nested objects become ``a.b`` names, lists
    of objects ``a[i].b``; lists of ints stay one (flattened) signal."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            _qualify(f"{prefix}.{key}" if prefix else str(key), item, out)
    elif isinstance(value, (list, tuple)) and any(
        isinstance(item, (Mapping, list, tuple)) and _has_mapping(item)
        for item in value
    ):
        for index, item in enumerate(value):
            _qualify(f"{prefix}[{index}]", item, out)
    else:
        out[prefix] = value


def _has_mapping(value: Any) -> bool:
    if isinstance(value, Mapping):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_mapping(item) for item in value)
    return False


@dataclass(frozen=True)
class Wtns:
    """The contents of a ``.wtns`` file: the field prime and the wire values."""

    prime: int
    witness: list[int]


def wtns_bytes(witness: Sequence[int], prime: int, *, n8: int = 32) -> bytes:
    """Return the iden3 ``.wtns`` (version 2) file bytes for a witness.

    Same bytes as ``witness_calculator.js`` ``calculateWTNSBin`` and snarkjs
    ``wtns calculate`` (layout in the module docstring). ``witness[0]`` is
    the constant wire ``1``; every value must be an int in ``[0, prime)``.

    Raises:
        WitnessValueError: (``witness_invalid``, also a ``ValueError``) a
            value outside ``[0, prime)`` or not an int, or a prime that does
            not fit ``n8`` bytes.
    """
    if prime <= 1 or prime.bit_length() > 8 * n8:
        raise WitnessValueError(
            f"prime has {prime.bit_length()} bits, expected > 1 and at most "
            f"{8 * n8} ({n8} bytes)"
        )
    body = bytearray(n8 * len(witness))
    for index, value in enumerate(witness):
        if type(value) is not int or not 0 <= value < prime:
            raise WitnessValueError(
                f"witness[{index}] is not a field element: expected an int in "
                f"[0, prime), found {type(value).__name__}"
            )
        body[index * n8 : (index + 1) * n8] = value.to_bytes(n8, "little")
    return _wtns_from_body(bytes(body), prime, len(witness), n8)


def _wtns_from_body(body: bytes, prime: int, n_witness: int, n8: int) -> bytes:
    header = (
        _WTNS_MAGIC
        + struct.pack("<II", _WTNS_VERSION, 2)
        + struct.pack("<IQI", 1, 8 + n8, n8)
        + prime.to_bytes(n8, "little")
        + struct.pack("<I", n_witness)
        + struct.pack("<IQ", 2, n8 * n_witness)
    )
    return header + body


def read_wtns(data: bytes) -> Wtns:
    """Parse ``.wtns`` bytes (version 2; snarkjs ``wtns_utils.js`` ``read``).

    Sections may come in any order; section 1 must precede its use only
    logically. Values are not reduced.

    Raises:
        WitnessFileError: (``wtns_malformed``, also a ``ValueError``) bad
            magic or version, a missing or truncated section, or a section-2
            size that disagrees with the header.
    """
    try:
        container = read_bin_file(data, _WTNS_MAGIC)
    except BinFileError as exc:
        raise WitnessFileError(f"not a .wtns file: {exc}") from None
    if container.version != _WTNS_VERSION:
        raise WitnessFileError(f".wtns version is {container.version}, expected 2")
    sections = container.sections
    if 1 not in sections or 2 not in sections:
        raise WitnessFileError(
            f".wtns has sections {sorted(sections)}, expected 1 and 2"
        )
    start, size = sections[1]
    if size < 8:
        raise WitnessFileError(f".wtns header section is {size} bytes, expected >= 8")
    (n8,) = struct.unpack_from("<I", data, start)
    if size != 8 + n8:
        raise WitnessFileError(
            f".wtns header section is {size} bytes, expected {8 + n8}"
        )
    prime = int.from_bytes(data[start + 4 : start + 4 + n8], "little")
    (n_witness,) = struct.unpack_from("<I", data, start + 4 + n8)
    start, size = sections[2]
    if size != n8 * n_witness:
        raise WitnessFileError(
            f".wtns witness section is {size} bytes, expected {n8 * n_witness}"
        )
    witness = [
        int.from_bytes(data[pos : pos + n8], "little")
        for pos in range(start, start + size, n8)
    ]
    return Wtns(prime=prime, witness=witness)


_ENGINE: wasmtime.Engine | None = None
_MODULES: dict[str, tuple[wasmtime.Module, wasmtime.Module]] = {}
_MODULES_LOCK = threading.Lock()


def _compiled(wasm: bytes) -> tuple[wasmtime.Module, wasmtime.Module]:
    """Return ``(calculator, helper)`` modules, compiled once per process."""
    global _ENGINE
    digest = hashlib.sha256(wasm).hexdigest()
    modules = _MODULES.get(digest)
    if modules is not None:
        return modules
    with _MODULES_LOCK:
        modules = _MODULES.get(digest)
        if modules is None:
            if _ENGINE is None:
                _ENGINE = wasmtime.Engine()
            try:
                calculator = wasmtime.Module(_ENGINE, wasm)
            except wasmtime.WasmtimeError as exc:
                raise ProverUnavailableError(
                    f"the witness calculator wasm does not compile: {exc}"[:600],
                    field="wasm",
                ) from None
            helper = wasmtime.Module(_ENGINE, _HELPER_WAT)
            modules = _MODULES[digest] = (calculator, helper)
        return modules


class _CircomException(Exception):
    """Raised by ``runtime.exceptionHandler``; becomes a wasm trap."""


class _Session:
    """One thread's ``Store`` with a calculator instance and its helper.

    Host functions reach the session through a weak reference: wasmtime-py
    keeps them alive as long as the store, and a strong reference would make
    a cycle through a process-wide table that is never collected.
    """

    def __init__(self, calculator: wasmtime.Module, helper: wasmtime.Module) -> None:
        engine = _ENGINE
        assert engine is not None
        self.store = wasmtime.Store(engine)
        self.error_code: int | None = None
        self.err_str = ""
        self.msg_str = ""
        me = weakref.ref(self)
        i32 = wasmtime.ValType.i32()
        no_args = wasmtime.FuncType([], [])

        def exception_handler(code: int) -> None:
            session = me()
            if session is not None:
                session.error_code = code
            raise _CircomException(code)

        def print_error_message() -> None:
            session = me()
            if session is not None:
                session.err_str += session.message() + "\n"

        def write_buffer_message() -> None:
            session = me()
            if session is not None:
                session.buffer_message(session.message())

        def show_shared_rw_memory() -> None:
            session = me()
            if session is not None:
                session.buffer_message(str(session.read_shared()))

        runtime: dict[str, wasmtime.Func] = {
            "exceptionHandler": wasmtime.Func(
                self.store, wasmtime.FuncType([i32], []), exception_handler
            ),
            "printErrorMessage": wasmtime.Func(
                self.store, no_args, print_error_message
            ),
            "writeBufferMessage": wasmtime.Func(
                self.store, no_args, write_buffer_message
            ),
            "showSharedRWMemory": wasmtime.Func(
                self.store, no_args, show_shared_rw_memory
            ),
        }
        imports: list[wasmtime.Func] = []
        for wanted in calculator.imports:
            func = runtime.get(wanted.name or "")
            if wanted.module != "runtime" or func is None:
                raise ProverUnavailableError(
                    f"the witness calculator imports {wanted.module}.{wanted.name}, "
                    f"which witness_calculator.js does not provide",
                    field="wasm",
                )
            imports.append(func)
        try:
            instance = wasmtime.Instance(self.store, calculator, imports)
            exports = instance.exports(self.store)
            self.funcs: dict[str, wasmtime.Func] = {}
            for name in _REQUIRED_EXPORTS[1:] + _OPTIONAL_EXPORTS:
                export = exports.get(name)
                if export is None and name in _OPTIONAL_EXPORTS:
                    continue
                if not isinstance(export, wasmtime.Func):
                    raise ProverUnavailableError(
                        f"the wasm is not a circom witness calculator: export "
                        f"{name!r} is missing or not a function",
                        field="wasm",
                    )
                self.funcs[name] = export
            helper_exports = wasmtime.Instance(
                self.store,
                helper,
                [
                    self.funcs["writeSharedRWMemory"],
                    self.funcs["readSharedRWMemory"],
                    self.funcs["setInputSignal"],
                    self.funcs["getWitness"],
                ],
            ).exports(self.store)
            buffer = helper_exports["buffer"]
            set_inputs = helper_exports["setInputs"]
            get_witnesses = helper_exports["getWitnesses"]
            assert isinstance(buffer, wasmtime.Memory)
            assert isinstance(set_inputs, wasmtime.Func)
            assert isinstance(get_witnesses, wasmtime.Func)
            self.buffer, self.set_inputs, self.get_witnesses = (
                buffer,
                set_inputs,
                get_witnesses,
            )
            self.n32: int = self.call("getFieldNumLen32")
            self.witness_size: int = self.call("getWitnessSize")
            self.input_size: int = self.call("getInputSize")
            if not (
                1 <= self.n32 <= 64 and self.witness_size > 0 and self.input_size >= 0
            ):
                raise ProverUnavailableError(
                    "the wasm is not a circom witness calculator: expected n32 in "
                    f"[1, 64], witness size > 0, input size >= 0, found n32 "
                    f"{self.n32}, witness size {self.witness_size}, input size "
                    f"{self.input_size}",
                    field="wasm",
                )
            self.call("getRawPrime")
            self.prime = self.read_shared()
            needed = 4 * self.n32 * (self.witness_size + self.input_size)
            pages = -(-needed // _WASM_PAGE) - self.buffer.size(self.store)
            if pages > 0:
                self.buffer.grow(self.store, pages)
        except (
            KeyError,
            ValueError,
            _CircomException,
            wasmtime.Trap,
            wasmtime.WasmtimeError,
        ) as exc:
            raise ProverUnavailableError(
                f"the wasm is not a circom witness calculator ({type(exc).__name__}: "
                f"{exc})"[:600],
                field="wasm",
            ) from None

    def call(self, name: str, *args: int) -> Any:
        """Call a calculator export."""
        return self.funcs[name](self.store, *args)

    def read_shared(self) -> int:
        """Return the field element in the shared RW memory."""
        value = 0
        for j in range(self.n32):
            word: int = self.call("readSharedRWMemory", j)
            value |= (word & 0xFFFFFFFF) << (32 * j)
        return value

    def message(self) -> str:
        """Read a NUL-terminated message with ``getMessageChar`` (``getMessage``)."""
        chars: list[str] = []
        for _ in range(4096):
            code: int = self.call("getMessageChar")
            if code == 0:
                break
            chars.append(chr(code))
        return "".join(chars)

    def buffer_message(self, message: str) -> None:
        """``writeBufferMessage``: a circom ``log()`` line ends with ``"\\n"``."""
        if message == "\n":
            logger.debug("circom log: %s", self.msg_str)
            self.msg_str = ""
        else:
            self.msg_str += (" " if self.msg_str else "") + message


class WitnessCalculator:
    """Computes circom witnesses from a circuit's ``.wasm`` (see module docstring).

    ``WitnessCalculator(wasm_bytes)`` compiles (once per process and wasm
    digest) and instantiates the module to read its field, ``n32`` and
    witness size. Instances are thread-safe; each thread uses its own wasm
    instance.

    Attributes: ``prime`` (the field modulus), ``n32`` (32-bit words per
    element), ``n8`` (bytes per element), ``witness_size`` (wires, constant
    ``one`` included), ``input_size`` (input signal values),
    ``circom_version`` (``"major.minor.patch"`` of the compiler).

    Raises (constructor):
        ProverUnavailableError: (``groth16_prover_unavailable``, field
            ``wasm``) the bytes do not compile, or the module does not speak
            circom's witness-calculator protocol.
    """

    def __init__(self, wasm: bytes) -> None:
        self._calculator, self._helper = _compiled(wasm)
        exports = {item.name for item in self._calculator.exports}
        missing = [name for name in _REQUIRED_EXPORTS if name not in exports]
        if missing:
            raise ProverUnavailableError(
                f"the wasm is not a circom witness calculator: no export "
                f"{', '.join(missing)}",
                field="wasm",
            )
        self._local = threading.local()
        session = self._session()
        self.prime: int = session.prime
        self.n32: int = session.n32
        self.n8: int = 4 * session.n32
        self.witness_size: int = session.witness_size
        self.input_size: int = session.input_size
        self.circom_version = ".".join(
            str(session.call(name)) if name in session.funcs else "0"
            for name in ("getVersion", "getMinorVersion", "getPatchVersion")
        )

    def _session(self) -> _Session:
        session: _Session | None = getattr(self._local, "session", None)
        if session is None:
            session = _Session(self._calculator, self._helper)
            self._local.session = session
        return session

    def calculate(self, inputs: Mapping[str, Any]) -> list[int]:
        """Return the witness (one int per wire, ``[1, outputs..., ...]``).

        ``inputs`` maps input signal names to an int or a (nested) list of
        ints, as snarkjs ``input.json`` does (nested objects and lists of
        objects are qualified like ``qualify_input`` in
        ``witness_calculator.js``). Values are reduced modulo :attr:`prime`
        like the JS ``normalize``.

        Raises:
            ProverInputError: (``groth16_prover_input_invalid``) an unknown
                signal, too few or too many values for one, inputs missing,
                a value that is not an int, or the circuit failed on them (an
                ``assert``, a circom runtime error, or a wasm trap); the
                message carries circom's own text.
        """
        return self._decode(self._run(inputs))

    def calculate_wtns(self, inputs: Mapping[str, Any]) -> bytes:
        """Return the ``.wtns`` file bytes for ``inputs`` (``calculateWTNSBin``).

        Raises:
            ProverInputError: see :meth:`calculate`.
        """
        body = self._run(inputs)
        return _wtns_from_body(body, self.prime, self.witness_size, self.n8)

    def _decode(self, body: bytes) -> list[int]:
        n8 = self.n8
        return [
            int.from_bytes(body[pos : pos + n8], "little")
            for pos in range(0, len(body), n8)
        ]

    def _run(self, inputs: Mapping[str, Any]) -> bytes:
        """Run one calculation; return the witness as ``.wtns`` section-2 bytes."""
        if not isinstance(inputs, Mapping):
            raise ProverInputError(
                f"inputs are a {type(inputs).__name__}, expected an object",
                field="inputs",
            )
        qualified: dict[str, Any] = {}
        _qualify("", inputs, qualified)
        flat: list[tuple[str, list[int]]] = []
        for name, value in qualified.items():
            values: list[int] = []
            _flatten(value, name, values)
            flat.append((name, values))
        session = self._session()
        try:
            return self._run_session(session, flat)
        except BaseException:
            # A trap may leave the instance half-way through a run: never
            # reuse it.
            self._local.session = None
            raise

    def _run_session(
        self, session: _Session, flat: list[tuple[str, list[int]]]
    ) -> bytes:
        store, n8, prime = session.store, self.n8, self.prime
        input_base = n8 * self.witness_size
        session.error_code, session.err_str = None, ""
        current = "inputs"
        try:
            session.call("init", 1)
            counter = 0
            for name, values in flat:
                current = name
                digest = fnv1a_64(name)
                h_msb, h_lsb = _i32(digest >> 32), _i32(digest & 0xFFFFFFFF)
                size: int = session.call("getInputSignalSize", h_msb, h_lsb)
                if size <= 0:  # circom 2.2 answers 0 for an unknown hash
                    raise ProverInputError(f"Signal {name} not found", field=name)
                if len(values) != size:
                    raise ProverInputError(
                        f"{'Not enough' if len(values) < size else 'Too many'} "
                        f"values for input signal {name} (got {len(values)}, "
                        f"expected {size})",
                        field=name,
                    )
                if counter + size > self.input_size:
                    raise ProverInputError("Too many signals set", field=name)
                data = b"".join((v % prime).to_bytes(n8, "little") for v in values)
                session.buffer.write(store, data, input_base)
                session.set_inputs(store, h_msb, h_lsb, size, input_base, self.n32)
                counter += size
            current = "inputs"
            if counter < self.input_size:
                raise ProverInputError(
                    f"Not all inputs have been set. Only {counter} out of "
                    f"{self.input_size}",
                    field="inputs",
                )
            session.get_witnesses(store, self.witness_size, self.n32)
            return bytes(session.buffer.read(store, 0, input_base))
        except (_CircomException, wasmtime.Trap, wasmtime.WasmtimeError) as exc:
            # wasmtime-py hands a host exception back through one
            # process-wide slot, so under threads the exception object may be
            # another thread's: the code recorded on this session is what
            # counts.
            code = session.error_code
            if code is not None:
                what = CIRCOM_EXCEPTION_MESSAGES.get(code, "Unknown error.")
                detail = session.err_str.strip()
                message = f"witness calculation failed: {what}" + (
                    f" {detail}" if detail else ""
                )
            else:  # wasmtime puts the cause ("wasm trap: ...") last
                lines = [line.strip() for line in str(exc).splitlines()]
                cause = next((ln for ln in reversed(lines) if ln), type(exc).__name__)
                message = f"witness calculation trapped: {cause}"
            raise ProverInputError(message[:600], field=current) from None
