"""`python -m trigger.firmware.warm`: compile da4ml's numba kernels once into numba's on-disk cache.

da4ml's solver functions are numba-compiled with cache=True: the first call in a fresh environment compiles them
(about 100 s on 2 cores), every later process loads them. `make test` and `make bench` run this first, and
`trigger run` beside training, so that neither the first `trigger firmware` nor each test process pays for it. The
tiny design below exercises the same kernels (they are compiled per argument type, and every design calls them with
the same types). While it compiles it holds a lock that every trace (`kernels_ready`) waits on: a firmware build
started meanwhile loads what it compiled instead of compiling the same kernels a second time.
"""

from __future__ import annotations

import contextlib
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

_holding = False  # this process compiles the kernels (main() below): its own trace must not wait for itself


def _lock_file():
    """The lock beside numba's cache of da4ml's kernels (None where it cannot be written: then nobody waits)."""
    spec = importlib.util.find_spec("da4ml")  # found, not imported: main() takes the lock before anything heavy
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "__pycache__" / "trigger-numba-warm.lock"
    try:
        path.parent.mkdir(exist_ok=True)
        return open(path, "a")
    except OSError:
        return None


@contextlib.contextmanager
def _locked(exclusive: bool):
    import fcntl

    f = _lock_file()
    try:
        if f is not None:
            fcntl.flock(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        if f is not None:
            f.close()


@contextlib.contextmanager
def kernels_ready():
    """Wait while another process (`python -m trigger.firmware.warm`, e.g. the one `trigger run` starts beside
    training) compiles da4ml's kernels, then load them from numba's cache instead of compiling them a second time."""
    if _holding:
        yield
        return
    with _locked(exclusive=False):
        yield


def tiny_design():
    from trigger.design import design_from_dict

    rng = np.random.default_rng(0)
    return design_from_dict({
        "format": "trigger-design/1", "name": "warm",
        "inputs": [{"name": f"w{i}", "type": "ap_uint<8>"} for i in range(4)],
        "scaling": {"offset": [0] * 4, "offset_type": "ap_fixed<9,9>", "shift": [2] * 4, "intermediate": "ap_fixed<12,10>",
                    "output": "ap_fixed<8,6,AP_RND_CONV,AP_SAT>"},
        "layers": [{"name": "d", "weight": (rng.integers(-8, 8, (4, 3)) / 4).tolist(), "bias": [0.5, -0.25, 0],
                    "weight_type": "ap_fixed<5,3>", "bias_type": "ap_fixed<5,3>", "accum_type": "ap_fixed<16,8>",
                    "result_type": "ap_fixed<16,8>", "activation": "linear", "activation_type": "ap_fixed<10,6>"}],
        "score": {"square_type": "ap_ufixed<20,12>", "sum_type": "ap_ufixed<22,14>"}, "thresholds": [{"name": "t", "raw": 100}],
    })


def in_background() -> subprocess.Popen:
    """The same compilation in a child process, beside training (`trigger run`): wait() on it before the first
    trace, or the two compile the same kernels twice. Its output is dropped: a failure here only means the firmware
    stage compiles them itself."""
    return subprocess.Popen([sys.executable, "-m", "trigger.firmware.warm"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    # run as `python -m`, this file is __main__; the trace below asks the module trigger.firmware.warm
    from trigger.firmware import warm

    with _locked(exclusive=True):  # every trace elsewhere waits for this one
        warm._holding = True
        from trigger.firmware.rtl import trace

        t = time.perf_counter()
        trace(tiny_design())
        print(f"da4ml's numba kernels ready ({time.perf_counter() - t:.0f} s)")


if __name__ == "__main__":
    main()
