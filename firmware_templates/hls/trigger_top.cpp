// Generated from firmware_templates/hls/trigger_top.cpp; do not edit by hand.
#include "trigger_top.h"

#include "{{PROJECT}}.h"
#include "thresholds.h"

void trigger_top(const word_t words[TRIGGER_N_INPUTS], trigger_mu_t mu[TRIGGER_N_LATENT], trigger_score_t score[1],
                 ap_uint<1> bits[TRIGGER_N_RATES]) {
#pragma HLS PIPELINE II = 1
#pragma HLS ARRAY_PARTITION variable = words complete
#pragma HLS ARRAY_PARTITION variable = mu complete
#pragma HLS ARRAY_PARTITION variable = bits complete
    trigger_input_t x[TRIGGER_N_INPUTS];
#pragma HLS ARRAY_PARTITION variable = x complete
    for (int i = 0; i < TRIGGER_N_INPUTS; i++) {
#pragma HLS UNROLL
        // exact: (word - offset) as a fixed-point value with {{SCALE_FRAC}} fraction bits, then >> shift
        ap_fixed<{{WORD_BITS}} + 2 + {{SCALE_FRAC}}, {{WORD_BITS}} + 2> d = words[i] - TRIGGER_OFFSETS[i];
        d = d >> TRIGGER_SHIFTS[i];
        x[i] = d;  // rounds (RND_CONV) and saturates (SAT) into the network's input type
    }
    {{PROJECT}}(x, mu, score);
    for (int r = 0; r < TRIGGER_N_RATES; r++) {
#pragma HLS UNROLL
        trigger_score_t thr;
        thr.range() = TRIGGER_THRESHOLDS[r];
        bits[r] = (TRIGGER_THRESHOLDS[r] >= 0 && score[0] >= thr) ? 1 : 0;
    }
}
