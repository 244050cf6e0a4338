"""A stage in a process of its own (spawned, so no forked TensorFlow), and the peak memory the kernel measured."""

from __future__ import annotations

from pathlib import Path

from trigger.config import Config
from trigger.io_utils import write_json


class BitAccuracyError(RuntimeError):
    """The implementations (or the cocotb testbenches) disagree: `trigger run` exits 1."""


def _stage_call(name: str, cfg: Config, build: Path, root: Path, events: int) -> None:
    """The stage's own function; `events`: compare's Verilog events, or the cocotb pass's."""
    if name == "train":
        from trigger.model.train import train

        train(cfg, build, root, baselines=False)
    elif name == "baselines":
        from trigger.model.train import train_baselines

        train_baselines(cfg, build, root)
    elif name == "thresholds":
        from trigger.physics.evaluate import write_thresholds

        write_thresholds(cfg, build, root)
    elif name == "evaluate":
        from trigger.physics.evaluate import evaluate

        evaluate(cfg, build, root, design=False)
    elif name == "compare":
        from trigger.verify.compare import compare

        compare(cfg, build, rtl_events=events, root=root)
    elif name == "sim":
        from cocotb_tests.runner import run_sim

        r = run_sim(cfg, build, events=events, root=root)
        if not r["passed"] or r["mismatches"]:
            raise BitAccuracyError(f"the cocotb testbenches failed on the RTL: {r['failed_tests']}, {r['mismatches']} mismatches "
                                   f"(see {build / 'reports' / 'sim.json'})")
    else:
        raise ValueError(f"no isolated stage {name!r}")


def peak_rss_mib(who: int) -> float:
    """The kernel's peak resident set (getrusage ru_maxrss, KiB on Linux) of this process (RUSAGE_SELF) or of
    the largest of its waited-for descendants (RUSAGE_CHILDREN), in MiB: measured, not sampled."""
    import resource

    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def own_peak_rss_mib() -> float:
    """This process's own peak resident set since it started its program (VmHWM of /proc/self/status, kept by the
    kernel). ru_maxrss is not that for a spawned process: Linux carries the forked parent's resident size across
    exec, so every stage spawned from a large flow process read as at least that size."""
    import resource

    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return peak_rss_mib(resource.RUSAGE_SELF)


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its waited-for children (g++, Verilator, yosys), as the
    kernel counted it: on 2 cores the flow is CPU-bound, so this, not the wall time, says what a stage costs."""
    import resource

    return round(sum(r.ru_utime + r.ru_stime for r in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))), 1)


def cgroup_peak_mib() -> float | None:
    """The memory cgroup's own peak (cgroup v2 memory.peak), where the kernel offers one."""
    try:
        return round(int(Path("/sys/fs/cgroup/memory.peak").read_text()) / 2**20, 1)
    except (OSError, ValueError):
        return None


def _child(conn, nice: int, *args) -> None:
    import os
    import resource
    import traceback

    msg = None
    try:
        os.nice(nice)
        _stage_call(*args)
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent, which raises it
        msg = (exc, traceback.format_exc())
    peak = {"peak_rss_mib": own_peak_rss_mib(), "children_peak_rss_mib": peak_rss_mib(resource.RUSAGE_CHILDREN),
            "cpu_seconds": cpu_seconds()}
    try:
        conn.send((msg, peak))
    except Exception:  # an exception that does not pickle
        conn.send(((RuntimeError(f"{type(msg[0]).__name__}: {msg[0]}"), msg[1]), peak))
    finally:
        conn.close()


def run_isolated(name: str, cfg: Config, build: Path, root: Path, events: int, nice: int = 0) -> dict:
    """Run a stage in a fresh process (spawned: no forked TensorFlow), so that the memory it held goes back to
    the system when it ends and the next stage starts from nothing; its exception is raised here. `nice` lowers
    its CPU priority (a stage off the critical path leaves the cores to yosys and the firmware). Returns the
    process's peak memory as the kernel measured it."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, nice, name, cfg, build, root, events), name=f"trigger-{name}")
    proc.start()
    send.close()
    try:
        msg, peak = recv.recv()
        died = False
    except EOFError:  # it died before sending: its exit code is known once joined
        msg, peak, died = None, {}, True
    proc.join()
    if died:
        msg = (RuntimeError(f"the {name} stage's process died (exit code {proc.exitcode}, e.g. killed for memory)"), "")
    if msg is not None:
        exc, tb = msg
        if tb:
            exc.add_note(f"in the {name} stage's process:\n{tb}")
        raise exc
    return peak


def write_memory(path: Path, stages: dict) -> dict:
    """Peak memory as the kernel measured it (getrusage, not sampling): each isolated stage's process, this
    process (data report, firmware), its largest waited-for child (yosys, Verilator, g++, the
    stages' processes), and the cgroup's peak where there is one; beside them CPU seconds (user + system, of the process
    and its waited-for children)."""
    import resource

    out = {"stages": stages, "flow_process_peak_rss_mib": peak_rss_mib(resource.RUSAGE_SELF), "flow_cpu_seconds": cpu_seconds(),
           "largest_child_peak_rss_mib": peak_rss_mib(resource.RUSAGE_CHILDREN), "cgroup_peak_mib": cgroup_peak_mib(),
           "note": "MiB and CPU seconds, as the kernel counted them: each stage's own process by its VmHWM (peak since its program "
                   "started), the flow's process and the largest child by ru_maxrss (a child's includes the resident size "
                   "of the process it was forked from); stages reused from an earlier run keep that run's values"}
    write_json(path, out)
    return out
