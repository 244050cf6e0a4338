"""`make firmware` logic: every stage once, then nothing to redo, then only what a change touches (the dry run's
plan, checked against a real rerun, says which stages and why)."""

import json

import pytest
import yaml

from synthetic import write_tiny_dataset
from trigger.config import load_config
from trigger.flow.pipeline import run_flow


def test_flow_reuses_and_reruns_only_what_changed(tmp_path):
    cfg_path = write_tiny_dataset(tmp_path)
    cfg = load_config(cfg_path)
    build = tmp_path / "build"
    first = run_flow(cfg, build, resources=False, rtl_events=3_000, sim_events=0)["stage_seconds_this_run"]
    assert set(first) >= {"data", "train", "baselines", "thresholds", "evaluate", "firmware", "compare", "summary"}
    summary = json.loads((build / "reports" / "summary.json").read_text())
    for key in ("physics", "thresholds", "bit_accuracy", "firmware", "timing", "versions"):
        assert summary[key], key
    assert summary["bit_accuracy"]["all_exact"] is True
    assert summary["firmware"]["latency_ns"] <= cfg.firmware.latency_budget_ns
    assert (build / "reports" / "summary.md").read_text().startswith("# Anomaly trigger: summary")
    # peak memory as the kernel measured it, per isolated stage: a TensorFlow process holds far more than 50 MiB
    mem = json.loads((build / "reports" / "memory.json").read_text())
    isolated = ("train", "baselines", "thresholds", "evaluate", "compare")
    assert all(mem["stages"][s]["peak_rss_mib"] > 50 for s in isolated), mem
    assert mem["largest_child_peak_rss_mib"] >= max(mem["stages"][s]["peak_rss_mib"] for s in isolated)
    # CPU seconds by the kernel: every stage's process is a waited-for child of the flow, so the flow's total holds them
    assert all(mem["stages"][s]["cpu_seconds"] > 0 for s in isolated), mem
    assert mem["flow_cpu_seconds"] >= sum(v["cpu_seconds"] for v in mem["stages"].values()), mem

    flow = dict(resources=False, rtl_events=3_000, sim_events=0)
    again = run_flow(cfg, build, **flow)["stage_seconds_this_run"]
    assert all(again[s] == 0.0 for s in ("data", "train", "baselines", "thresholds", "evaluate", "firmware", "compare"))
    assert set(run_flow(cfg, build, dry_run=True, **flow)["plan"].values()) == {"up to date"}

    # an output a stage owns is gone (the data report's) and a source file another stage runs changed (compare's):
    # the dry run names those two, with the reason, and the real run reruns exactly them
    (build / "reports" / "data.json").unlink()
    import trigger.flow.pipeline as pl

    real = pl.sources_hash
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pl, "sources_hash", lambda files: real(files) + ("x" if any(f.name == "compare.py" for f in files) else ""))
        plan = run_flow(cfg, build, dry_run=True, **flow)["plan"]
        assert plan.pop("data") == "reruns (reports/data.json missing)"
        assert plan.pop("compare") == "reruns (changed: the tool's source it runs)"
        assert set(plan.values()) == {"up to date"}, plan
        again = run_flow(cfg, build, **flow)["stage_seconds_this_run"]
    assert {s for s, t in again.items() if t > 0} == {"data", "compare", "summary"}

    # the summary shows only reports of the current RTL: one made from other RTL is named, not shown
    bits = json.loads((build / "reports" / "bit_accuracy.json").read_text())
    bits["rtl_sha256"] = "0" * 64
    (build / "reports" / "bit_accuracy.json").write_text(json.dumps(bits))
    from trigger.report import write_summary

    s2 = write_summary(cfg, build)
    assert "bit_accuracy.json" in s2["reports_not_shown"] and s2["bit_accuracy"]["all_exact"] is None
    assert "`bit_accuracy.json`: made from another design or RTL" in (build / "reports" / "summary.md").read_text()

    # firmware changed behind the flow's back (a flipped HLS weight): compare reruns and `trigger run` exits 1
    from typer.testing import CliRunner

    from mutate import flip_hls_weight
    from trigger.cli import app

    flip_hls_weight(build)
    res = CliRunner().invoke(app, ["run", "--config", str(cfg_path), "--build", str(build), "--no-resources",
                                   "--rtl-events", "3000", "--sim-events", "0"])
    assert res.exit_code == 1, res.output
    assert "implementations disagree" in res.output
    bad = [p["pair"] for p in json.loads((build / "reports" / "bit_accuracy.json").read_text())["pairs"] if p["mismatches"]]
    assert bad and all("csim" in p for p in bad)

    # a config change: the plan (the real run's keys, nothing run) reruns what depends on it and nothing else
    raw = yaml.safe_load(cfg_path.read_text())
    raw["firmware"]["rates_khz"] = [20, 50, 100]
    cfg_path.write_text(yaml.safe_dump(raw))
    plan = run_flow(load_config(cfg_path), build, dry_run=True, **flow)["plan"]
    assert {s for s, w in plan.items() if w != "up to date"} == {"thresholds", "firmware", "compare", "evaluate"}, plan
    assert plan["thresholds"] == "reruns (changed: the flow's settings for it)"
    assert plan["firmware"] == "reruns (changed: its configuration sections, upstream thresholds)"

    raw["model"]["weight"]["width"] = 5
    cfg_path.write_text(yaml.safe_dump(raw))
    plan = run_flow(load_config(cfg_path), build, dry_run=True, **flow)["plan"]
    assert plan["train"] == "reruns (changed: its configuration sections)", "a bit-width change must retrain"
    assert plan["baselines"] == "reruns (changed: its configuration sections, upstream train)"
    assert plan["data"] == "up to date"


def test_an_isolated_stage_raises_its_own_error_here(tmp_path):
    """train, evaluate and compare run in spawned processes (their memory goes back when they end); a failure
    there comes back as the same exception, with the child's traceback attached."""
    from emulator.model import EmulatorError
    from trigger.flow.isolated import run_isolated
    from trigger.flow.pipeline import ROOT

    with pytest.raises(EmulatorError, match="design file not found") as info:
        run_isolated("compare", load_config(None), tmp_path / "no_build", ROOT, 10)
    assert "in the compare stage's process" in "".join(info.value.__notes__)
    with pytest.raises(ValueError, match="no isolated stage 'yosys'"):
        run_isolated("yosys", load_config(None), tmp_path / "no_build", ROOT, 10)


def _tree(root, files: dict):
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_stage_keys_follow_the_imports(tmp_path):
    """A stage's files are its modules' import closure (also imports inside functions, relative imports, parent
    packages), and editing a module only the cocotb runner uses changes that stage's hash and no other."""
    from trigger.flow.module_deps import project_files

    _tree(tmp_path, {
        "cocotb_tests/__init__.py": "", "cocotb_tests/runner.py": "def run():\n    from .tb import Driver\n",
        "cocotb_tests/tb.py": "from emulator.bits import pack\nDriver = 1\n",
        "emulator/__init__.py": "", "emulator/bits.py": "pack = 1\n", "emulator/unused.py": "",
        "trigger/__init__.py": "", "trigger/firmware/__init__.py": "", "trigger/firmware/build.py": "import numpy\nfrom trigger import io_utils\n",
        "trigger/io_utils.py": "",
    })
    sim = project_files(("cocotb_tests.runner",), tmp_path)
    fw = project_files(("trigger.firmware.build",), tmp_path)
    rel = lambda fs: sorted(f.relative_to(tmp_path).as_posix() for f in fs)  # noqa: E731
    assert rel(sim) == ["cocotb_tests/__init__.py", "cocotb_tests/runner.py", "cocotb_tests/tb.py", "emulator/__init__.py", "emulator/bits.py"]
    assert rel(fw) == ["trigger/__init__.py", "trigger/firmware/__init__.py", "trigger/firmware/build.py", "trigger/io_utils.py"]
    with pytest.raises(ValueError, match="no project module named trigger.nothing"):
        project_files(("trigger.nothing",), tmp_path)


def test_the_real_stages_see_the_files_they_run(tmp_path, monkeypatch):
    """The sim stage's key covers the cocotb helpers and the modules they use (compare, data, scoring), which the
    hand-kept lists missed; the firmware stage's covers the graph, the interval analysis and the hazards, and no
    cocotb file; an edit of cocotb_tests/tb.py changes the sim key only."""
    import trigger.flow.pipeline as pl
    from trigger.flow.pipeline import ROOT, Stage, sources_hash, stage_files

    sim = Stage("sim", (), (), lambda: None, modules=("cocotb_tests.runner", "cocotb_tests.test_trigger"))
    fw = Stage("firmware", (), (), lambda: None, modules=("trigger.firmware.build", "trigger.verify.hazards"))
    sim_f = {f.relative_to(ROOT).as_posix() for f in stage_files(sim)}
    fw_f = {f.relative_to(ROOT).as_posix() for f in stage_files(fw)}
    assert {"cocotb_tests/tb.py", "trigger/verify/compare.py", "trigger/physics/scoring.py", "trigger/data/words.py"} <= sim_f
    assert {"trigger/design/graph.py", "trigger/design/intervals.py", "trigger/verify/hazards.py", "trigger/firmware/rtl.py"} <= fw_f
    assert not any(f.startswith("cocotb_tests/") for f in fw_f)
    before = sources_hash(stage_files(sim)), sources_hash(stage_files(fw))
    real_read = pl.Path.read_bytes
    monkeypatch.setattr(pl.Path, "read_bytes", lambda self: real_read(self) + (b"# edited" if self.name == "tb.py" else b""))
    after = sources_hash(stage_files(sim)), sources_hash(stage_files(fw))
    assert after[0] != before[0] and after[1] == before[1]
