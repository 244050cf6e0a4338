import subprocess
import sys

import numpy as np

from emulator.fixed import cast
from emulator.nodes import _round as round_scaled  # the float path's rounding of exact dyadic values
from trigger.design.fixed import FixedType, Rounding


def test_rnd_conv_rounds_ties_to_even():
    v = np.array([1, 3, 5, 7, -1, -3, -5, 2, 6]) / 2.0  # counts of 2^-1, to be rounded to counts of 1
    assert round_scaled(v.copy(), Rounding.RND_CONV).tolist() == [0, 2, 2, 4, 0, -2, -2, 1, 3]
    assert round_scaled(v.copy(), Rounding.RND).tolist() == [1, 2, 3, 4, 0, -1, -2, 1, 3]
    assert round_scaled(v.copy(), Rounding.TRN).tolist() == [0, 1, 2, 3, -1, -2, -3, 1, 3]
    raw = np.array([1, 3, 5, 7, -1, -3, -5, 2, 6])
    assert cast(raw, 1, FixedType(8, 8, True, "RND_CONV")).tolist() == [0, 2, 2, 4, 0, -2, -2, 1, 3]


def test_saturation_and_wrap():
    v = np.array([9, -9, 7, -8])  # units of 2^-2
    assert cast(v, 2, FixedType(4, 2, True, "TRN", "SAT")).tolist() == [7, -8, 7, -8]
    assert cast(v, 2, FixedType(4, 2, True, "TRN", "WRAP")).tolist() == [-7, 7, 7, -8]
    assert cast(v, 2, FixedType(4, 2, True, "TRN", "SAT_SYM")).tolist() == [7, -7, 7, -7]
    assert cast(v, 2, FixedType(4, 2, True, "TRN", "SAT_ZERO")).tolist() == [0, 0, 7, -8]
    assert cast(np.array([-3, 40, 10]), 3, FixedType(4, 2, False, "RND_CONV", "SAT")).tolist() == [0, 15, 5]


def test_emulator_imports_without_tensorflow_or_hls4ml():
    code = "import sys, emulator; bad = [m for m in ('tensorflow', 'hls4ml', 'qkeras', 'da4ml') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
