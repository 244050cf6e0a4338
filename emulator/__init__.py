"""Bit-accurate integer emulator of the trigger firmware. numpy only: no TensorFlow, no hls4ml, no da4ml.

    from emulator import Emulator
    emu = Emulator.load("build")
    mu, score, bits = emu.run(words)      # words: (N, 57) integer L1 words
"""

from emulator.model import Emulator, EmulatorError

__all__ = ["Emulator", "EmulatorError"]
