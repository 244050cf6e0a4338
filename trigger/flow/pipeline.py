"""The whole flow, stage by stage, rerunning only what changed (stamps hash the config and upstream outputs)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from trigger.config import Config, save_config
from trigger.firmware import warm
from trigger.io_utils import file_sha256, write_json
from trigger.progress import console, stage

ROOT = Path(__file__).resolve().parents[2]  # the folder holding the trigger package


class BitAccuracyError(RuntimeError):
    pass


@dataclass
class Stage:
    name: str
    sections: tuple[str, ...]  # config sections it depends on
    upstream: tuple[str, ...]  # stages whose outputs it reads
    run: Callable[[], dict | None]
    background: bool = False  # runs in a thread beside the next stages (yosys is a separate process)
    modules: tuple[str, ...] = ()  # the modules it runs: they and every project module they import are in its key
    sources: tuple[str, ...] = ()  # other files it reads from the repository (globs from its root: templates)
    outputs: tuple[str, ...] = ()  # files it owns (relative to the build): one missing reruns it
    inputs: tuple[str, ...] = ()  # files of the build it checks or reads (globs): their bytes are in its key, so a
    # design or RTL changed behind its back (by hand, another command) reruns it


def stage_files(st: Stage) -> list[Path]:
    """The files a stage can run or read: its modules' import closure (trigger/flow/module_deps.py) and its globs."""
    from trigger.flow.module_deps import project_files

    globbed = [p for pattern in st.sources for p in ROOT.glob(pattern) if p.is_file() and "__pycache__" not in p.parts]
    return sorted(set(project_files(st.modules, ROOT)) | set(globbed))


def sources_hash(files: list[Path]) -> str:
    """The tool's version and the bytes of the files a stage runs."""
    import hashlib

    from trigger import __version__

    h = hashlib.sha256(__version__.encode())
    for p in files:
        h.update(str(p.relative_to(ROOT)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _stamp_dir(build: Path) -> Path:
    return build / ".stamps"


def inputs_hash(build: Path, patterns: tuple[str, ...]) -> str:
    import hashlib

    h = hashlib.sha256()
    for pattern in patterns:
        for p in sorted(build.glob(pattern)):
            if p.is_file():
                h.update(str(p.relative_to(build)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _timed(fn: Callable[[], object]) -> float:
    """A background stage's own seconds (not the time until the flow waited for it)."""
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _key(cfg: Config, st: Stage, build: Path, extra: str) -> str:
    import hashlib

    parts = [cfg.section_hash(*st.sections) if st.sections else "", extra, sources_hash(stage_files(st)), inputs_hash(build, st.inputs)]
    for up in st.upstream:
        p = _stamp_dir(build) / f"{up}.json"
        parts.append(json.loads(p.read_text())["key"] if p.exists() else "missing")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def data_fingerprint(cfg: Config, root: Path | None) -> str:
    from trigger.data.dataset import process_file

    return "|".join(
        f"{name}:{file_sha256(p)}" if (p := process_file(cfg.data, name, root)).exists() else f"{name}:missing"
        for name in cfg.data.processes()
    )


def _stage_call(name: str, cfg: Config, build: Path, root: Path, rtl_events: int) -> None:
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

        compare(cfg, build, rtl_events=rtl_events, root=root)
    else:
        raise ValueError(f"no isolated stage {name!r}")


def peak_rss_mib(who: int) -> float:
    """The kernel's peak resident set (getrusage ru_maxrss, KiB on Linux) of this process (RUSAGE_SELF) or of
    the largest of its waited-for descendants (RUSAGE_CHILDREN), in MiB: measured, not sampled."""
    import resource

    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


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
    peak = {"peak_rss_mib": peak_rss_mib(resource.RUSAGE_SELF), "children_peak_rss_mib": peak_rss_mib(resource.RUSAGE_CHILDREN)}
    try:
        conn.send((msg, peak))
    except Exception:  # an exception that does not pickle
        conn.send(((RuntimeError(f"{type(msg[0]).__name__}: {msg[0]}"), msg[1]), peak))
    finally:
        conn.close()


def run_isolated(name: str, cfg: Config, build: Path, root: Path, rtl_events: int, nice: int = 0) -> dict:
    """Run a stage in a fresh process (spawned: no forked TensorFlow), so that the memory it held goes back to
    the system when it ends and the next stage starts from nothing; its exception is raised here. `nice` lowers
    its CPU priority (a stage off the critical path leaves the cores to yosys and the firmware). Returns the
    process's peak memory as the kernel measured it."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, nice, name, cfg, build, root, rtl_events), name=f"trigger-{name}")
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
    process (data, firmware, the cocotb runner), its largest waited-for child (yosys, Verilator, g++, the
    stages' processes), and the cgroup's peak where there is one."""
    import resource

    out = {"stages": stages, "flow_process_peak_rss_mib": peak_rss_mib(resource.RUSAGE_SELF),
           "largest_child_peak_rss_mib": peak_rss_mib(resource.RUSAGE_CHILDREN), "cgroup_peak_mib": cgroup_peak_mib(),
           "note": "ru_maxrss per process (MiB); stages reused from an earlier run keep that run's values"}
    write_json(path, out)
    return out


# long: the stage table and its runner: the table is data, read top to bottom as the flow
def run_flow(cfg: Config, build: str | Path = "build", resources: bool = True, root: Path | None = None,
             rtl_events: int = 1_000_000, force: bool = False, sim_events: int = 2000) -> dict:
    from trigger.data.dataset import process_file
    from trigger.data.io import DataError
    from trigger.data.stream import clear_words

    root = root or Path.cwd()  # a relative data.dir means the same here as for `trigger train`: from the working directory
    build = Path(build)
    build.mkdir(parents=True, exist_ok=True)
    save_config(cfg, build / "config.yaml")
    timings_path = build / "reports" / "timing.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    memory_path = build / "reports" / "memory.json"
    memory = (json.loads(memory_path.read_text()) if memory_path.exists() else {}).get("stages", {})

    missing = [str(process_file(cfg.data, n, root)) for n in cfg.data.processes() if not process_file(cfg.data, n, root).exists()]
    if missing:
        raise DataError(f"data files missing: {missing}. Remake them with `make data` (see README)")
    fingerprint = data_fingerprint(cfg, root)  # the files' bytes: in the keys of the data report and of training

    def check_data():
        from trigger.report import data_report

        return data_report(cfg, build, root)

    def train():
        memory["train"] = run_isolated("train", cfg, build, root, rtl_events)

    # the baselines and the full evaluation are for the reports only: they run at a lower priority, beside the
    # firmware, instead of holding up the design (AE + AXOL1TL v1 took ~3 of the train stage's ~4 minutes)
    def baselines():
        memory["baselines"] = run_isolated("baselines", cfg, build, root, rtl_events, nice=10)

    def thresholds():
        memory["thresholds"] = run_isolated("thresholds", cfg, build, root, rtl_events)

    def evaluate():
        memory["evaluate"] = run_isolated("evaluate", cfg, build, root, rtl_events, nice=10)

    def firmware():
        from trigger.design import load_design
        from trigger.firmware.build import build_firmware
        from trigger.verify.hazards import write_hazards

        out = build_firmware(cfg, build, resources=False, after_rtl=start_resources)
        write_hazards(load_design(build / "design.yaml"), build)  # after the RTL: yosys need not wait for it
        return out

    def synth():
        from trigger.firmware.build import write_resources

        return write_resources(build, cfg)

    def compare():
        memory["compare"] = run_isolated("compare", cfg, build, root, rtl_events)

    def quick_sim():
        from cocotb_tests.runner import run_sim

        r = run_sim(cfg, build, events=sim_events, root=root)
        if not r["passed"] or r["mismatches"]:
            raise BitAccuracyError(f"the cocotb testbenches failed on the RTL: {r['failed_tests']}, {r['mismatches']} mismatches "
                                   f"(see {build / 'reports' / 'sim.json'})")
        return r

    def summary():
        from trigger.report import write_summary

        return write_summary(cfg, build)

    rtl_files = ("rtl/src/*.v", "rtl/src/static/*.v")
    # each stage's key holds the import closure of the module it calls (not this file: importing every stage, it
    # would tie each stage to all the others)
    templates = ("trigger/templates/**/*",)
    stages = [
        # the data report (saturation counts, plots) beside training, which reads the same files itself
        Stage("data", ("data", "units"), (), check_data, background=True, modules=("trigger.report",), outputs=("reports/data.json",)),
        Stage("train", ("data", "units", "model", "training"), (), train, modules=("trigger.model.train",),
              outputs=("model/trigger_model.h5", "model/scaling.json")),
        Stage("baselines", ("data", "units", "model", "training"), ("train",), baselines, background=True,
              modules=("trigger.model.train",), outputs=("model/baselines.json",)),
        # the trigger's score on the background: its thresholds and the design, all the firmware needs
        Stage("thresholds", ("evaluation",), ("train",), thresholds, modules=("trigger.physics.evaluate",),
              outputs=("design.yaml", "evaluation/thresholds.json")),
        Stage("firmware", ("firmware",), ("thresholds",), firmware, modules=("trigger.firmware.build", "trigger.verify.hazards"),
              sources=templates, outputs=("hls/trigger_top.cpp", "rtl/ports.json", "reports/firmware.json", "reports/hazards.json"),
              inputs=("design.yaml",)),
        # started from inside the firmware stage, as soon as the RTL is written: its key is the RTL's bytes, not
        # the firmware stamp (not yet written then)
        Stage("resources", ("firmware",), (), synth, background=True, modules=("trigger.firmware.build",),
              outputs=("reports/resources.json",), inputs=rtl_files),
        Stage("compare", (), ("firmware",), compare, modules=("trigger.verify.compare",), sources=templates,
              outputs=("reports/bit_accuracy.json",), inputs=("design.yaml", "hls/*.cpp", "hls/*.h", "hls/firmware/*.cpp", "hls/firmware/*.h", "hls/firmware/weights/*", *rtl_files)),
        # cocotb loads its test module by name, so it is named here beside the runner
        Stage("sim", ("evaluation",), ("firmware",), quick_sim, modules=("cocotb_tests.runner", "cocotb_tests.test_trigger"),
              sources=templates, outputs=("reports/sim.json",), inputs=("design.yaml", *rtl_files)),
        # every model's score on every event: physics.json and the plots (waits for the baselines)
        Stage("evaluate", ("evaluation",), ("thresholds", "baselines"), evaluate, modules=("trigger.physics.evaluate",),
              outputs=("reports/physics.json",)),
    ]
    if not resources:
        stages = [s for s in stages if s.name != "resources"]
    if not sim_events:
        stages = [s for s in stages if s.name != "sim"]
    stage_seconds = {}
    pending: dict[str, tuple] = {}  # background stages started and not yet waited for
    pool = ThreadPoolExecutor(max_workers=max(sum(s.background for s in stages), 1))
    warming = None
    visited = set()

    def visit(st: Stage) -> None:
        """Run the stage (or start it, if it runs in the background) unless its stamp says it is up to date."""
        nonlocal warming
        visited.add(st.name)
        for up in st.upstream:  # its key holds theirs: a background stage it reads must be done first
            if up in pending:
                finish(up)
        extra = {
            "data": lambda: fingerprint,
            "train": lambda: fingerprint,
            "baselines": lambda: fingerprint,
            "thresholds": lambda: f"rates={cfg.firmware.rates_khz}",  # thresholds are chosen per target rate
            "evaluate": lambda: f"rates={cfg.firmware.rates_khz}",
            "firmware": lambda: f"resources={resources}",
            "compare": lambda: f"n={rtl_events},slow={cfg.evaluation.slow_leg_events}",
            "sim": lambda: f"n={sim_events}",
        }.get(st.name, lambda: "")()
        key = _key(cfg, st, build, extra)
        stamp = _stamp_dir(build) / f"{st.name}.json"
        owned = [o for o in st.outputs if not (build / o).exists()]
        if owned and stamp.exists():
            console.print(f"[yellow]==> {st.name}: {', '.join(owned)} missing, rerunning[/]")
        if not force and not owned and stamp.exists() and json.loads(stamp.read_text())["key"] == key:
            console.print(f"[dim]==> {st.name}: up to date, reusing {build}[/]")
            stage_seconds[st.name] = 0.0
            return
        stamp.unlink(missing_ok=True)
        if st.name == "train":  # da4ml's kernels compile on the core training leaves (make setup no longer does it)
            warming = warm.in_background()
        elif st.name == "firmware" and warming is not None:
            warming.wait()
        if st.background:
            console.print(f"[bold cyan]==> {st.name}[/] (in the background)")
            pending[st.name] = (stamp, key, pool.submit(_timed, st.run))
            return
        with stage(st.name, stage_seconds):
            st.run()
        clear_words()  # words a stage read here are not kept for the next (train, evaluate, compare: own processes)
        write_json(stamp, {"key": key, "finished": time.time()})
        timings[st.name] = stage_seconds[st.name]

    def finish(name: str) -> None:
        stamp, key, fut = pending.pop(name)
        console.print(f"[cyan]    waiting for {name}[/]")
        stage_seconds[name] = timings[name] = round(fut.result(), 3)
        console.print(f"[green]    {name} done in {stage_seconds[name]:.1f} s[/]")
        write_json(stamp, {"key": key, "finished": time.time()})

    def start_resources() -> None:  # yosys starts on the RTL while the firmware stage builds the C simulation
        for st in stages:
            if st.name == "resources":
                visit(st)

    for st in stages:
        if st.name not in visited:
            visit(st)
    if warming is not None:
        warming.wait()
    for name in list(pending):
        finish(name)
    pool.shutdown()
    write_json(timings_path, timings)
    write_memory(memory_path, memory)
    with stage("summary", stage_seconds):
        result = summary()
    if result["bit_accuracy"].get("all_exact") is False:
        raise BitAccuracyError(f"the implementations disagree: see {build / 'reports' / 'bit_accuracy.md'}")
    console.print(f"[bold green]done[/]: {build / 'reports' / 'summary.md'}")
    return {"stage_seconds_this_run": stage_seconds, "summary": result}
