"""Anomaly-detection trigger: L1 data -> quantization-aware VAE -> verified firmware."""

import os

__version__ = "0.1.0"

# da4ml's solver is numba-compiled on its first use in a fresh environment. At numba's optimisation level 0 that
# takes 110 s instead of 243 s here, and the solver runs as fast (the default design's trace 14.3 s against 15.5 s,
# the same RTL). Set before numba is imported; numba's cache is per level, so every process must agree (a user's
# own NUMBA_OPT is kept).
os.environ.setdefault("NUMBA_OPT", "0")
