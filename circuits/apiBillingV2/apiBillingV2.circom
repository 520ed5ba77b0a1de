// apiBillingV2: binds a billing attestation's eight commitment field elements
// (binding version bn128-poseidon8-v1) to one public signal.
//
//   private input  commitments[8]  high/low 128-bit halves of meter_hash,
//                                  tariff_hash, charge_hash, fingerprint
//   public output  binding         circomlib Poseidon(8)(commitments)
//
// public_signals = [binding]; circuits/protocol/commitments.py
// billing_public_signal() computes the same value in Python.
// Compiled with circom 2.2.3 (npm circom2 0.2.23), --O2, circomlib 2.0.5:
// 402 non-linear constraints, 411 wires.
pragma circom 2.0.0;

include "poseidon.circom";

template ApiBillingV2() {
    signal input commitments[8];
    signal output binding;

    component hasher = Poseidon(8);
    for (var i = 0; i < 8; i++) {
        hasher.inputs[i] <== commitments[i];
    }
    binding <== hasher.out;
}

component main = ApiBillingV2();
