"""`trigger emulate`: the emulator on a words file or an ADC2021-layout file, results written atomically to HDF5."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from emulator import Emulator
from trigger.data.words import read_words
from trigger.io_utils import atomic_path


def emulate_file(build, input_file, out, units):
    emu = Emulator.load(build)
    words, _ = read_words(input_file, units, emu.n_inputs)
    mu, score, bits = emu.run(words)
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("words", data=words.astype(np.int32), compression="gzip")
            f.create_dataset("mu", data=mu, compression="gzip")
            f.create_dataset("score", data=score, compression="gzip")
            f.create_dataset("trigger_bits", data=bits.astype(np.int8), compression="gzip")
            f.attrs["thresholds"] = emu.threshold_names
            f.attrs["threshold_raw"] = emu.thresholds
            f.attrs["score_type"] = emu.score_type.hls()
            f.attrs["mu_type"] = emu.mu_type.hls()
            f.attrs["design_sha256"] = emu.design.sha256()
            f.attrs["source"] = str(Path(input_file).resolve())
    return words, (mu, score, bits)
