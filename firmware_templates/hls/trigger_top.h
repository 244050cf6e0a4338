// Anomaly trigger top level: raw L1 words -> (x - offset) >> shift -> encoder -> sum(mu^2) -> trigger bits.
// Generated from firmware_templates/hls/trigger_top.h; do not edit by hand.
#ifndef TRIGGER_TOP_H_
#define TRIGGER_TOP_H_

#include "ap_fixed.h"
#include "ap_int.h"
#include "defines.h"

#define TRIGGER_N_INPUTS {{N_INPUTS}}
#define TRIGGER_N_LATENT {{N_LATENT}}
#define TRIGGER_N_RATES {{N_RATES}}

typedef ap_int<{{WORD_BITS}}> word_t;  // every L1 field fits: unsigned fields get a spare sign bit
typedef {{INPUT_T}} trigger_input_t;
typedef {{MU_T}} trigger_mu_t;
typedef {{SCORE_T}} trigger_score_t;

void trigger_top(const word_t words[TRIGGER_N_INPUTS], trigger_mu_t mu[TRIGGER_N_LATENT], trigger_score_t score[1],
                 ap_uint<1> bits[TRIGGER_N_RATES]);

#endif
