// Design "{{NAME}}": thresholds in raw units of trigger_score_t (LSB 2^-{{SCORE_FRAC}}): {{THRESHOLD_LIST}}.
// A threshold at or below the type's minimum always fires, one above its maximum never does.
// Generated from trigger/templates/hls/thresholds.h; do not edit by hand.
#ifndef TRIGGER_THRESHOLDS_H_
#define TRIGGER_THRESHOLDS_H_

static const long long TRIGGER_THRESHOLDS_RAW[{{N_THRESHOLDS}}] = { {{THRESHOLDS}} };

#endif
