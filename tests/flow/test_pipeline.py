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

    flow = dict(resources=False, rtl_events=3_000, sim_events=0)
    again = run_flow(cfg, build, **flow)["stage_seconds_this_run"]
    assert all(again[s] == 0.0 for s in ("data", "train", "baselines", "thresholds", "evaluate", "firmware", "compare"))
    assert set(run_flow(cfg, build, dry_run=True, **flow)["plan"].values()) == {"up to date"}

    # an output a stage owns is gone (evaluate's) and a source file another stage runs changed (compare's): the
    # dry run names those two, with the reason, and the real run reruns exactly them
    (build / "reports" / "physics.json").unlink()
    import trigger.flow.pipeline as pl

    real = pl.sources_hash
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pl, "sources_hash", lambda files: real(files) + ("x" if any(f.name == "compare.py" for f in files) else ""))
        plan = run_flow(cfg, build, dry_run=True, **flow)["plan"]
        assert plan.pop("evaluate") == "reruns (reports/physics.json missing)"
        assert plan.pop("compare") == "reruns (changed: the tool's source it runs)"
        assert set(plan.values()) == {"up to date"}, plan
        again = run_flow(cfg, build, **flow)["stage_seconds_this_run"]
    assert {s for s, t in again.items() if t > 0} == {"evaluate", "compare", "summary"}

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
