"""Stage 1: Level-1 format events (generation, ADC2021 files, hardware units)."""
