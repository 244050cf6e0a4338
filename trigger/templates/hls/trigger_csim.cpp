// C simulation harness: the whole firmware function on N events of raw integer words, called from Python.
// Generated from trigger/templates/hls/trigger_csim.cpp; do not edit by hand.
#include <cstdint>

#include "trigger_top.h"

// a value's raw bits in units of its LSB, sign-extended: for ap_int (no iwidth) and fractions below zero alike
template <class T>
static int64_t raw_bits(const T &x) {
    int64_t u = (int64_t)x.range(T::width - 1, 0).to_uint64();
    return x < 0 ? u - ((int64_t)1 << T::width) : u;
}

extern "C" void trigger_csim(const int64_t *words, int64_t n, int64_t *mu_out, int64_t *score_out, int8_t *bits_out) {
    for (int64_t e = 0; e < n; e++) {
        word_t w[TRIGGER_N_INPUTS];
        for (int i = 0; i < TRIGGER_N_INPUTS; i++) w[i] = words[e * TRIGGER_N_INPUTS + i];
        trigger_mu_t mu[TRIGGER_N_LATENT];
        trigger_score_t score[1];
        ap_uint<1> bits[TRIGGER_N_THRESHOLDS];
        trigger_top(w, mu, score, bits);
        for (int j = 0; j < TRIGGER_N_LATENT; j++) mu_out[e * TRIGGER_N_LATENT + j] = raw_bits(mu[j]);
        score_out[e] = raw_bits(score[0]);
        for (int r = 0; r < TRIGGER_N_THRESHOLDS; r++) bits_out[e * TRIGGER_N_THRESHOLDS + r] = (int8_t)bits[r];
    }
}
