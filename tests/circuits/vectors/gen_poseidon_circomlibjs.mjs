// Generate tests/circuits/vectors/poseidon_circomlibjs.json with circomlibjs.
//
// The expected outputs come from circomlibjs itself (an implementation
// independent of circuits/protocol/poseidon.py): buildPoseidon() (the WASM
// build with the optimised constants) and buildPoseidonReference() must agree
// on every vector, or the script fails.
//
// Regenerate (outside the repository; needs node >= 18 and the npm registry):
//   mkdir /tmp/cljs && cd /tmp/cljs && npm init -y && npm install circomlibjs@0.1.7
//   node /work/main/tests/circuits/vectors/gen_poseidon_circomlibjs.mjs /tmp/cljs \
//     /work/main/tests/circuits/vectors/poseidon_circomlibjs.json
//
// Inputs are deterministic (SHA-256 in counter mode from a fixed label, reduced
// mod p) plus edge cases, so a rerun with the same circomlibjs version
// reproduces the file byte for byte.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [installDir, outputPath] = process.argv.slice(2);
if (!installDir || !outputPath) {
  console.error(
    "usage: node gen_poseidon_circomlibjs.mjs <dir with node_modules/circomlibjs> <output.json>",
  );
  process.exit(2);
}
const pkgDir = join(installDir, "node_modules", "circomlibjs");
const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const ffjs = JSON.parse(
  readFileSync(join(installDir, "node_modules", "ffjavascript", "package.json"), "utf8"),
);
const lib = await import(pathToFileURL(join(pkgDir, "main.js")).href);

const P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const LABEL = "meterproof/poseidon-circomlibjs-vectors/v1";

function fieldElement(...parts) {
  const h = createHash("sha256").update([LABEL, ...parts].join("/")).digest("hex");
  return BigInt("0x" + h) % P;
}

const inputSets = [];
// Edge cases.
inputSets.push({ name: "known_1_2", inputs: [1n, 2n] });
inputSets.push({ name: "zeros_2", inputs: [0n, 0n] });
inputSets.push({ name: "p_minus_1_2", inputs: [P - 1n, P - 1n] });
inputSets.push({ name: "one_to_eight", inputs: [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n] });
inputSets.push({ name: "zeros_8", inputs: Array(8).fill(0n) });
inputSets.push({ name: "p_minus_1_8", inputs: Array(8).fill(P - 1n) });
inputSets.push({
  name: "u128_halves_8",
  inputs: Array.from({ length: 8 }, (_, j) => fieldElement("u128", j) % (1n << 128n)),
});
// 40 pseudo-random sets for each width the project uses.
for (const n of [2, 8]) {
  for (let i = 0; i < 40; i++) {
    inputSets.push({
      name: `random_n${n}_${i}`,
      inputs: Array.from({ length: n }, (_, j) => fieldElement("n", n, "i", i, "j", j)),
    });
  }
}
// Three sets for every other width whose constants circomlibjs ships.
for (let n = 1; n <= 16; n++) {
  if (n === 2 || n === 8) continue;
  for (let i = 0; i < 3; i++) {
    inputSets.push({
      name: `random_n${n}_${i}`,
      inputs: Array.from({ length: n }, (_, j) => fieldElement("n", n, "i", i, "j", j)),
    });
  }
}

const poseidon = await lib.buildPoseidon();
const reference = await lib.buildPoseidonReference();
const vectors = inputSets.map(({ name, inputs }) => {
  const out = poseidon.F.toObject(poseidon(inputs));
  const ref = reference.F.toObject(reference(inputs));
  if (out !== ref) {
    throw new Error(`${name}: buildPoseidon ${out} != buildPoseidonReference ${ref}`);
  }
  return { name, inputs: inputs.map(String), output: out.toString() };
});

const doc = {
  description:
    "Poseidon(n) vectors computed by circomlibjs buildPoseidon() and " +
    "cross-checked with buildPoseidonReference(); decimal strings.",
  generator: "tests/circuits/vectors/gen_poseidon_circomlibjs.mjs",
  circomlibjs_version: pkg.version,
  ffjavascript_version: ffjs.version,
  field_modulus: P.toString(),
  vectors,
};
// Written synchronously: the bn128 worker threads keep node alive, so the
// script ends with process.exit(), which would truncate a piped stdout.
writeFileSync(outputPath, JSON.stringify(doc, null, 1) + "\n");
console.error(`${outputPath}: ${vectors.length} vectors, circomlibjs ${pkg.version}`);
process.exit(0);
