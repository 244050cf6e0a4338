"""The numba warm-up's lock: a trace waits while another process compiles da4ml's kernels (`trigger run` starts
the warm-up beside training), and goes on once it is done."""

import fcntl
import threading

from trigger.firmware import warm


def test_a_trace_waits_for_the_warm_up_then_goes_on():
    f = warm._lock_file()
    assert f is not None, "the lock beside da4ml's numba cache cannot be written in this environment"
    entered = threading.Event()

    def trace_like():
        with warm.kernels_ready():
            entered.set()

    with f:
        fcntl.flock(f, fcntl.LOCK_EX)  # the warm-up compiling
        t = threading.Thread(target=trace_like, daemon=True)
        t.start()
        assert not entered.wait(0.5), "kernels_ready() did not wait for the compiling process"
        fcntl.flock(f, fcntl.LOCK_UN)
        assert entered.wait(10), "kernels_ready() still waits after the warm-up released its lock"
    t.join(10)


def test_the_warm_up_does_not_wait_for_itself():
    """`python -m trigger.firmware.warm` holds the lock and traces: its own trace must not wait on it (run as a
    script its module is __main__, not the trigger.firmware.warm its trace asks)."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "trigger.firmware.warm"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "kernels ready" in r.stdout, r.stdout + r.stderr
