// Score thresholds, in units of the score LSB (2^-{{SCORE_FRAC}}), for target rates [kHz]: {{RATES}}.
// Generated from firmware_templates/hls/thresholds.h; do not edit by hand.
#ifndef TRIGGER_THRESHOLDS_H_
#define TRIGGER_THRESHOLDS_H_

static const long long TRIGGER_THRESHOLDS[{{N_RATES}}] = { {{THRESHOLDS}} };
static const int TRIGGER_OFFSETS[{{N_INPUTS}}] = { {{OFFSETS}} };
static const int TRIGGER_SHIFTS[{{N_INPUTS}}] = { {{SHIFTS}} };

#endif
