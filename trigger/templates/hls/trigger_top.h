// Anomaly trigger top level, design "{{NAME}}": raw input words -> scaling -> encoder -> score -> trigger bits.
// Generated from trigger/templates/hls/trigger_top.h; do not edit by hand.
#ifndef TRIGGER_TOP_H_
#define TRIGGER_TOP_H_

#include "ap_fixed.h"
#include "ap_int.h"
#include "defines.h"

#define TRIGGER_N_INPUTS {{N_INPUTS}}
#define TRIGGER_N_LATENT {{N_LATENT}}
#define TRIGGER_N_THRESHOLDS {{N_THRESHOLDS}}

typedef ap_int<{{WORD_BITS}}> word_t;  // raw bits of each input word in its low bits (see thresholds.h)
typedef {{OFFSET_T}} trigger_offset_t;
typedef {{MID_T}} trigger_mid_t;
typedef {{INPUT_T}} trigger_input_t;
typedef {{MU_T}} trigger_mu_t;
typedef {{SQUARE_T}} trigger_square_t;
typedef {{SCORE_T}} trigger_score_t;

void trigger_top(const word_t words[TRIGGER_N_INPUTS], trigger_mu_t mu[TRIGGER_N_LATENT], trigger_score_t score[1],
                 ap_uint<1> bits[TRIGGER_N_THRESHOLDS]);

#endif
