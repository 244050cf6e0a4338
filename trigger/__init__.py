"""Anomaly-detection trigger: L1 data -> quantization-aware VAE -> verified firmware."""

import os

__version__ = "0.1.0"

# da4ml's solver is numba-compiled on its first use in a fresh environment. At numba's optimisation level 1 that
# took 147 s instead of 243 s (level 3, the default) here for da4ml's parallel solve, and the solver runs as fast
# (the default design's trace 13.8 s against 15.5 s); firmware/cmvm.py compiles only its jit_solve (~100 s). Level 0
# compiles faster still but its code cannot be cached ("dynamic globals"). Set before numba is imported; numba's
# cache is per level, so every process must agree (a user's NUMBA_OPT is kept).
os.environ.setdefault("NUMBA_OPT", "1")
