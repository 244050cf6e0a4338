// C simulation harness: the whole firmware function on N events of raw integer words, called from Python.
// Generated from trigger/templates/hls/trigger_csim.cpp; do not edit by hand.
#include <cstdint>

#include "trigger_top.h"

extern "C" void trigger_csim(const int64_t *words, int64_t n, int64_t *mu_out, int64_t *score_out, int8_t *bits_out) {
    for (int64_t e = 0; e < n; e++) {
        word_t w[TRIGGER_N_INPUTS];
        for (int i = 0; i < TRIGGER_N_INPUTS; i++) w[i] = words[e * TRIGGER_N_INPUTS + i];
        trigger_mu_t mu[TRIGGER_N_LATENT];
        trigger_score_t score[1];
        ap_uint<1> bits[TRIGGER_N_THRESHOLDS];
        trigger_top(w, mu, score, bits);
        // raw integer values in units of each type's LSB (exact below 2^53)
        for (int j = 0; j < TRIGGER_N_LATENT; j++)
            mu_out[e * TRIGGER_N_LATENT + j] = (int64_t)(mu[j].to_double() * (double)(1LL << (trigger_mu_t::width - trigger_mu_t::iwidth)));
        score_out[e] = (int64_t)(score[0].to_double() * (double)(1LL << (trigger_score_t::width - trigger_score_t::iwidth)));
        for (int r = 0; r < TRIGGER_N_THRESHOLDS; r++) bits_out[e * TRIGGER_N_THRESHOLDS + r] = (int8_t)bits[r];
    }
}
