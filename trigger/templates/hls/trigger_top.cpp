// Generated from trigger/templates/hls/trigger_top.cpp; do not edit by hand.
// The design's whole firmware function: raw input words -> cast(output, cast(intermediate, word - offset) >> shift)
// -> the design's network and score ({{NETWORK_KIND}}) -> raw(score) >= threshold.
#include "trigger_top.h"

#include "{{PROJECT}}.h"
#include "nnet_utils/nnet_common.h"
#include "thresholds.h"

void trigger_top(const word_t words[TRIGGER_N_INPUTS], trigger_mu_t mu[TRIGGER_N_LATENT], trigger_score_t score[1],
                 ap_uint<1> bits[TRIGGER_N_THRESHOLDS]) {
#pragma HLS PIPELINE II = 1
#pragma HLS ARRAY_PARTITION variable = words complete
#pragma HLS ARRAY_PARTITION variable = mu complete
#pragma HLS ARRAY_PARTITION variable = bits complete
    trigger_input_t x[TRIGGER_N_INPUTS];
#pragma HLS ARRAY_PARTITION variable = x complete
    // one line per input: its word type, offset and shift (the shift moves raw bits inside trigger_mid_t)
{{SCALING}}
{{NETWORK_AND_SCORE}}

    // thresholds in raw units of trigger_score_t, clamped once into its range (see thresholds.h)
{{THRESHOLD_CODE}}
}
