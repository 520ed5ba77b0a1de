#!/usr/bin/env bash
# Rebuild the apiBillingV2 artifacts and run a full (single-host) ceremony with
# snarkjs. A real multi-host ceremony runs the same steps, one contributor per
# host, with `manage.py ceremony contribute` (README "Ceremony").
#
# usage: scripts/ceremony.sh OUT_DIR BEACON_HEX
#   needs node + npm packages circom2, snarkjs, circomlib in $TOOLS
#   (default /work/scratch/ceremony: `npm install circom2 snarkjs circomlib`).
# Writes OUT_DIR/{build,logs,...}; copy the shipped files with --ship.
set -euo pipefail
OUT=${1:?OUT_DIR}
BEACON=${2:?BEACON_HEX}
TOOLS=${TOOLS:-/work/scratch/ceremony}
POWER=${POWER:-9}
BEACON_ITER_EXP=${BEACON_ITER_EXP:-10}
REPO=$(cd "$(dirname "$0")/.." && pwd)
SRC="$REPO/circuits/apiBillingV2/apiBillingV2.circom"
SNARKJS=${SNARKJS:-"$TOOLS/node_modules/.bin/snarkjs"}
CIRCOM="$TOOLS/node_modules/.bin/circom2"
rnd() { python3 -c 'import os; print(os.urandom(32).hex())'; }
mkdir -p "$OUT/logs" "$OUT/build"
cd "$OUT"
log() { local name=$1; shift; echo "+ $*" >&2; "$@" 2>&1 | tee "logs/$name.log" >/dev/null; }

# 1. compile
# circom2 (WASI) resolves include paths relative to the working directory.
# Compile inside $TOOLS, then move the output to $OUT/build.
TMPB="$TOOLS/.build-$$"; rm -rf "$TMPB"; mkdir -p "$TMPB"
(cd "$TOOLS" && "$CIRCOM" "$SRC" --O2 --r1cs --wasm --sym -l node_modules/circomlib/circuits -o ".build-$$") > logs/compile.log 2>&1
rm -rf build && mv "$TMPB" build
grep -q "non-linear constraints: 402" logs/compile.log && grep -q "wires: 411" logs/compile.log
"$CIRCOM" --version > logs/circom_version.log 2>&1
node --version > logs/node_version.log
echo "POWER=$POWER BEACON_ITER_EXP=$BEACON_ITER_EXP" > logs/params.env
# 2. phase 1: powers of tau, bn128, 2^POWER, three contributors + beacon
log p1_new "$SNARKJS" powersoftau new bn128 "$POWER" pot_0000.ptau
i=0
for name in p1-alice p1-bob p1-carol; do
  n=$(printf %04d $((i + 1)))
  log "p1_contribute_$name" "$SNARKJS" powersoftau contribute "pot_$(printf %04d $i).ptau" "pot_$n.ptau" --name="$name" -e="$(rnd)"
  i=$((i + 1))
done
log p1_beacon "$SNARKJS" powersoftau beacon "pot_$(printf %04d $i).ptau" pot_beacon.ptau "$BEACON" "$BEACON_ITER_EXP" --name="p1-beacon"
log p1_prepare "$SNARKJS" powersoftau prepare phase2 pot_beacon.ptau pot_final.ptau
log p1_verify "$SNARKJS" powersoftau verify pot_final.ptau
# 3. phase 2: circuit-specific setup, three contributors + beacon
log p2_setup "$SNARKJS" groth16 setup build/apiBillingV2.r1cs pot_final.ptau apiBillingV2_0000.zkey
i=0
for name in p2-dave p2-erin p2-frank; do
  n=$(printf %04d $((i + 1)))
  log "p2_contribute_$name" "$SNARKJS" zkey contribute "apiBillingV2_$(printf %04d $i).zkey" "apiBillingV2_$n.zkey" --name="$name" -e="$(rnd)"
  i=$((i + 1))
done
log p2_beacon "$SNARKJS" zkey beacon "apiBillingV2_$(printf %04d $i).zkey" apiBillingV2_final.zkey "$BEACON" "$BEACON_ITER_EXP" --name="p2-beacon"
log p2_verify "$SNARKJS" zkey verify build/apiBillingV2.r1cs pot_final.ptau apiBillingV2_final.zkey
log export_vkey "$SNARKJS" zkey export verificationkey apiBillingV2_final.zkey verification_key.json
grep -q "ZKey Ok!" logs/p2_verify.log
echo "ceremony done in $OUT" >&2
