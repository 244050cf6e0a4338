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
from trigger.flow.isolated import BitAccuracyError, run_isolated, write_memory
from trigger.io_utils import file_sha256, write_json
from trigger.physics.families import scan_file_key
from trigger.progress import console, stage

ROOT = Path(__file__).resolve().parents[2]  # the folder holding the trigger package


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
    started_by: str = ""  # the stage that starts it from inside (resources: by the firmware stage, on the new RTL)


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


def _after(deps: list, fn: Callable[[], object]) -> float:
    """A background stage: once the background stages it reads are done (a failure there is raised here), its
    own seconds (not the time until the flow waited for it)."""
    for d in deps:
        d.result()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _key_parts(cfg: Config, st: Stage, build: Path, extra: str, keys: dict[str, str]) -> dict[str, str]:
    """What a stage's key hashes, part by part (kept in its stamp, so that a rerun can say which part changed);
    an upstream's key is the one this run gave it (`keys`), else its stamp's."""
    parts = {"config": cfg.section_hash(*st.sections) if st.sections else "", "settings": extra,
             "sources": sources_hash(stage_files(st)), "inputs": inputs_hash(build, st.inputs)}
    for up in st.upstream:
        p = _stamp_dir(build) / f"{up}.json"
        parts[f"upstream {up}"] = keys.get(up) or (json.loads(p.read_text())["key"] if p.exists() else "missing")
    return parts


def _key(parts: dict[str, str]) -> str:
    import hashlib

    return hashlib.sha256("|".join(parts.values()).encode()).hexdigest()[:16]


_PART_NAMES = {"config": "its configuration sections", "settings": "the flow's settings for it",
               "sources": "the tool's source it runs", "inputs": "build files it reads"}


def _why(parts: dict[str, str], stamp: dict | None, missing: list[str]) -> str:
    """Why a stage reruns, in words."""
    if missing:
        return f"{', '.join(missing)} missing"
    if stamp is None:
        return "not run before"
    old = stamp.get("parts")
    if old is None:  # a stamp from before the parts were kept
        return "its key changed"
    changed = [k for k in parts if old.get(k) != parts[k]]
    return "changed: " + ", ".join(_PART_NAMES.get(k, k) for k in changed)


def data_fingerprint(cfg: Config, root: Path | None) -> str:
    from trigger.data.dataset import process_file

    return "|".join(
        f"{name}:{file_sha256(p)}" if (p := process_file(cfg.data, name, root)).exists() else f"{name}:missing"
        for name in cfg.data.processes()
    )


# long: the stage table and its runner: the table is data, read top to bottom as the flow
def run_flow(cfg: Config, build: str | Path = "build", resources: bool = True, root: Path | None = None,
             rtl_events: int = 1_000_000, force: bool = False, sim_events: int = 2000, dry_run: bool = False) -> dict:
    """Every stage whose key changed, in order; with `dry_run`, nothing runs or is written: the result's `plan`
    says for each stage whether it would rerun, and why (the same keys as a real run)."""
    from trigger.data.dataset import process_file
    from trigger.data.io import DataError
    from trigger.data.stream import clear_words

    root = root or Path.cwd()  # a relative data.dir means the same here as for `trigger train`: from the working directory
    build = Path(build)
    if not dry_run:
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

    # Once the RTL exists every stage runs at once, each in a process of its own, so that both cores stay busy to
    # the end: yosys (one process, the longest) at normal priority, since it sets the end; the others niced beside
    # it: the baselines and the full evaluation (for the reports only; AE + AXOL1TL v1 took ~3 of the train stage's
    # ~4 minutes when they held up the design), compare and the cocotb pass. Without yosys nothing is niced.
    low = 10 if resources else 0

    def baselines():
        memory["baselines"] = run_isolated("baselines", cfg, build, root, rtl_events, nice=low)

    def thresholds():
        memory["thresholds"] = run_isolated("thresholds", cfg, build, root, rtl_events)

    def evaluate():
        memory["evaluate"] = run_isolated("evaluate", cfg, build, root, rtl_events, nice=low)

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
        memory["compare"] = run_isolated("compare", cfg, build, root, rtl_events, nice=low)

    def quick_sim():
        memory["sim"] = run_isolated("sim", cfg, build, root, sim_events, nice=low)

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
              outputs=("reports/resources.json",), inputs=rtl_files, started_by="firmware"),
        Stage("compare", (), ("firmware",), compare, background=True, modules=("trigger.verify.compare",), sources=templates,
              outputs=("reports/bit_accuracy.json",), inputs=("design.yaml", "hls/*.cpp", "hls/*.h", "hls/firmware/*.cpp", "hls/firmware/*.h", "hls/firmware/weights/*", *rtl_files)),
        # cocotb loads its test module by name, so it is named here beside the runner
        Stage("sim", ("evaluation",), ("firmware",), quick_sim, background=True, modules=("cocotb_tests.runner", "cocotb_tests.test_trigger"),
              sources=templates, outputs=("reports/sim.json",), inputs=("design.yaml", *rtl_files)),
        # every model's score on every event: physics.json and the plots (in the background, once the baselines are done)
        Stage("evaluate", ("evaluation",), ("thresholds", "baselines"), evaluate, background=True,
              modules=("trigger.physics.evaluate",), outputs=("reports/physics.json",)),
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
    keys: dict[str, str] = {}  # each visited stage's key this run
    plan: dict[str, str] = {}

    def visit(st: Stage) -> None:
        """Run the stage (or start it, if it runs in the background) unless its stamp says it is up to date."""
        nonlocal warming
        visited.add(st.name)
        extra = {
            "data": lambda: fingerprint,
            "train": lambda: fingerprint,
            "baselines": lambda: fingerprint,
            "thresholds": lambda: f"rates={cfg.firmware.rates_khz}",  # thresholds are chosen per target rate
            "evaluate": lambda: f"rates={cfg.firmware.rates_khz},{scan_file_key(cfg)}",  # physics.json holds the families scan
            "firmware": lambda: f"resources={resources}",
            "compare": lambda: f"n={rtl_events},slow={cfg.evaluation.slow_leg_events}",
            "sim": lambda: f"n={sim_events}",
        }.get(st.name, lambda: "")()
        parts = _key_parts(cfg, st, build, extra, keys)
        key = keys[st.name] = _key(parts)
        stamp = _stamp_dir(build) / f"{st.name}.json"
        old = json.loads(stamp.read_text()) if stamp.exists() else None
        owned = [o for o in st.outputs if not (build / o).exists()]
        if not force and not owned and old is not None and old["key"] == key:
            plan[st.name] = "up to date"
            if not dry_run:
                console.print(f"[dim]==> {st.name}: up to date, reusing {build}[/]")
            stage_seconds[st.name] = 0.0
            return
        why = "--force" if force else _why(parts, old, owned)
        if dry_run:
            starter = plan.get(st.started_by, "")
            plan[st.name] = (f"reruns if the new RTL differs (the {st.started_by} stage reruns)" if starter.startswith("rerun")
                             else f"reruns ({why})")
            return
        if old is not None or force:
            console.print(f"[yellow]==> {st.name}: rerunning ({why})[/]")
        stamp.unlink(missing_ok=True)
        if st.name == "train":  # da4ml's kernels compile on the core training leaves (make setup no longer does it)
            warming = warm.in_background()
        elif st.name == "firmware" and warming is not None:
            warming.wait()
        deps = [pending[up][2] for up in st.upstream if up in pending]  # background stages whose outputs it reads
        if st.background:
            console.print(f"[bold cyan]==> {st.name}[/] (in the background)")
            pending[st.name] = (stamp, {"key": key, "parts": parts}, pool.submit(_after, deps, st.run))
            return
        for d in deps:
            d.result()
        with stage(st.name, stage_seconds):
            st.run()
        clear_words()  # words a stage read here are not kept for the next (train, evaluate, compare: own processes)
        write_json(stamp, {"key": key, "parts": parts, "finished": time.time()})
        timings[st.name] = stage_seconds[st.name]

    def finish(name: str) -> None:
        stamp, done, fut = pending.pop(name)
        console.print(f"[cyan]    waiting for {name}[/]")
        stage_seconds[name] = timings[name] = round(fut.result(), 3)
        console.print(f"[green]    {name} done in {stage_seconds[name]:.1f} s[/]")
        write_json(stamp, {**done, "finished": time.time()})

    def start_resources() -> None:  # yosys starts on the RTL while the firmware stage builds the C simulation
        for st in stages:
            if st.name == "resources":
                visit(st)

    for st in stages:
        if st.name not in visited:
            visit(st)
    if dry_run:
        return {"plan": plan}
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
