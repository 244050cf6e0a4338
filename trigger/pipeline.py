"""The whole flow, stage by stage, rerunning only what changed (stamps hash the config and upstream outputs)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from trigger.config import Config, save_config
from trigger.io_utils import file_sha256, write_json
from trigger.progress import console, stage

ROOT = Path(__file__).resolve().parent.parent


class BitAccuracyError(RuntimeError):
    pass


@dataclass
class Stage:
    name: str
    sections: tuple[str, ...]  # config sections it depends on
    upstream: tuple[str, ...]  # stages whose outputs it reads
    run: Callable[[], dict | None]
    background: bool = False  # runs in a thread beside the next stages (yosys is a separate process)


def _stamp_dir(build: Path) -> Path:
    return build / ".stamps"


def _key(cfg: Config, st: Stage, build: Path, extra: str) -> str:
    import hashlib

    parts = [cfg.section_hash(*st.sections) if st.sections else "", extra]
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


def run_flow(cfg: Config, build: str | Path = "build", resources: bool = True, root: Path | None = None,
             rtl_events: int = 1_000_000, force: bool = False) -> dict:
    from trigger.data.dataset import process_file
    from trigger.data.io import DataError

    root = root or ROOT
    build = Path(build)
    build.mkdir(parents=True, exist_ok=True)
    save_config(cfg, build / "config.yaml")
    timings_path = build / "reports" / "timing.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}

    def check_data():
        missing = [str(process_file(cfg.data, n, root)) for n in cfg.data.processes() if not process_file(cfg.data, n, root).exists()]
        if missing:
            raise DataError(f"data files missing: {missing}. Remake them with `make data` (see README)")
        from trigger.report import data_report

        return data_report(cfg, build, root)

    def train():
        from trigger.train import train as _train

        return _train(cfg, build, root)

    def evaluate():
        from trigger.evaluate import evaluate as _evaluate

        return _evaluate(cfg, build, root)

    def firmware():
        from trigger.firmware.build import build_firmware

        return build_firmware(cfg, build, resources=False)

    def synth():
        from trigger.firmware.build import write_resources

        return write_resources(build, cfg)

    def compare():
        from trigger.compare import compare as _compare

        return _compare(cfg, build, rtl_events=rtl_events, root=root)

    def summary():
        from trigger.report import write_summary

        return write_summary(cfg, build)

    stages = [
        Stage("data", ("data", "units"), (), check_data),
        Stage("train", ("data", "units", "model", "training"), ("data",), train),
        Stage("evaluate", ("evaluation",), ("train",), evaluate),
        Stage("firmware", ("firmware",), ("evaluate",), firmware),
        Stage("resources", (), ("firmware",), synth, background=True),
        Stage("compare", (), ("firmware",), compare),
    ]
    if not resources:
        stages = [s for s in stages if s.name != "resources"]
    stage_seconds = {}
    pending = []
    pool = ThreadPoolExecutor(max_workers=1)
    for st in stages:
        extra = {
            "data": lambda: data_fingerprint(cfg, root),
            "evaluate": lambda: f"rates={cfg.firmware.rates_khz}",  # thresholds are chosen per target rate
            "firmware": lambda: f"resources={resources}",
            "compare": lambda: f"n={rtl_events}",
        }.get(st.name, lambda: "")()
        key = _key(cfg, st, build, extra)
        stamp = _stamp_dir(build) / f"{st.name}.json"
        if not force and stamp.exists() and json.loads(stamp.read_text())["key"] == key:
            console.print(f"[dim]==> {st.name}: up to date, reusing {build}[/]")
            stage_seconds[st.name] = 0.0
            continue
        stamp.unlink(missing_ok=True)
        if st.background:
            console.print(f"[bold cyan]==> {st.name}[/] (in the background)")
            pending.append((st, stamp, key, time.perf_counter(), pool.submit(st.run)))
            continue
        with stage(st.name, stage_seconds):
            st.run()
        write_json(stamp, {"key": key, "finished": time.time()})
        timings[st.name] = stage_seconds[st.name]
    for st, stamp, key, t0, fut in pending:
        console.print(f"[cyan]    waiting for {st.name}[/]")
        fut.result()
        stage_seconds[st.name] = timings[st.name] = round(time.perf_counter() - t0, 3)
        console.print(f"[green]    {st.name} done in {stage_seconds[st.name]:.1f} s[/]")
        write_json(stamp, {"key": key, "finished": time.time()})
    pool.shutdown()
    write_json(timings_path, timings)
    with stage("summary", stage_seconds):
        result = summary()
    if result["bit_accuracy"].get("all_exact") is False:
        raise BitAccuracyError(f"the implementations disagree: see {build / 'reports' / 'bit_accuracy.md'}")
    console.print(f"[bold green]done[/]: {build / 'reports' / 'summary.md'}")
    return {"stage_seconds_this_run": stage_seconds, "summary": result}
