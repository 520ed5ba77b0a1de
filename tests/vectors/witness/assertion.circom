pragma circom 2.0.0;
// Test circuit: out = a * b, with a != 0 enforced by an assert and a
// log() line, so a witness calculator's error and message paths run.
template Guarded() {
    signal input a;
    signal input b[2];
    signal output out;
    assert(a != 0);
    log("guarded", a);
    out <== a * b[0] + b[1];
}
component main = Guarded();
