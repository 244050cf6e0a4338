"""`trigger emulate`: the emulator on an ADC2021-layout file, results written atomically to HDF5."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from emulator import Emulator
from trigger.data.io import read_events
from trigger.data.units import to_words
from trigger.io_utils import atomic_path


def emulate_file(build, input_file, out, units):
    emu = Emulator.load(build)
    ef = read_events(input_file)
    words = to_words(ef.particles, units)
    mu, score, bits = emu.run(words)
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("words", data=words.astype(np.int32), compression="gzip")
            f.create_dataset("mu", data=mu, compression="gzip")
            f.create_dataset("score", data=score, compression="gzip")
            f.create_dataset("trigger_bits", data=bits.astype(np.int8), compression="gzip")
            f.attrs["rates_khz"] = emu.rates_khz
            f.attrs["score_lsb"] = 2.0 ** -emu.score_type.frac
            f.attrs["mu_lsb"] = 2.0 ** -emu.layers[-1]["res"].frac
            f.attrs["source"] = str(Path(input_file).resolve())
    return words, (mu, score, bits)
