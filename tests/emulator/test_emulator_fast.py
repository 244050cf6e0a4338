"""The emulator's float path (exact integers held in float32/float64, casts proven to be no-ops left out) against
its int64 path."""

import dataclasses

import numpy as np
import pytest

from emulator import Emulator, EmulatorError
from emulator.nodes import FloatOps, NodeRunner
from trigger.verify.edge_words import edge_cases


def _inputs(emu):
    rng = np.random.default_rng(7)
    cases = edge_cases(emu)
    return np.concatenate([rng.integers(emu.word_min, emu.word_max + 1, size=(60_000, emu.n_inputs))] + list(cases.values()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_path_equals_full_path(tiny, dtype):
    _, build, _ = tiny
    emu = Emulator.load(build)
    assert emu.fast is not None, "the tiny build's accumulators are sized exactly: the fast path must apply"
    emu.fast = NodeRunner(emu.design, emu.analysis, FloatOps(dtype))
    words = _inputs(emu)
    emu.CHUNK = 5000  # several blocks and a ragged last one
    for fast, full in zip(emu.run(words), emu.run_full(words)):
        assert fast.dtype == np.int64 and np.array_equal(fast, full)


def test_narrow_accumulator_wraps_on_both_paths(tiny):
    """An accumulator too narrow for its sums wraps: both paths must show the wrap, identically."""
    _, build, _ = tiny
    emu = Emulator.load(build)
    d = emu.design
    acc = d.layers[0].accum_type
    narrow_acc = dataclasses.replace(acc, width=acc.width - 6, integer=acc.integer - 6)
    narrow = Emulator(dataclasses.replace(d, layers=[dataclasses.replace(d.layers[0], accum_type=narrow_acc, result_type=narrow_acc)] + d.layers[1:]))
    words = edge_cases(emu)["saturating_drive"]
    assert not np.array_equal(narrow.run(words)[0], emu.run(words)[0])
    assert all(np.array_equal(a, b) for a, b in zip(narrow.run(words), narrow.run_full(words)))


def test_bad_word_in_a_later_block_is_named(tiny):
    _, build, _ = tiny
    emu = Emulator.load(build)
    emu.CHUNK = 1000
    words = np.zeros((5000, emu.n_inputs), dtype=np.int64)
    words[3456, 4] = emu.word_min[4] - 1
    name = emu.design.inputs[4].name
    with pytest.raises(EmulatorError, match=f"word {name} of event 3456 = {emu.word_min[4] - 1} "):
        emu.run(words)
    words[3456, 4] = 2**40  # far outside: float32 rounds it, the check must still see it
    with pytest.raises(EmulatorError, match="of event 3456"):
        emu.run(words)
