"""`make firmware` logic: every stage once, then nothing to redo, then only what a config change touches."""

import json

import yaml

from synthetic import write_tiny_dataset
from trigger.config import load_config
from trigger.pipeline import run_flow


def test_flow_reuses_and_reruns_only_what_changed(tmp_path):
    cfg_path = write_tiny_dataset(tmp_path)
    cfg = load_config(cfg_path)
    build = tmp_path / "build"
    first = run_flow(cfg, build, resources=False, rtl_events=20_000)["stage_seconds_this_run"]
    assert set(first) >= {"data", "train", "evaluate", "firmware", "compare", "summary"}
    summary = json.loads((build / "reports" / "summary.json").read_text())
    for key in ("physics", "thresholds", "bit_accuracy", "firmware", "timing", "versions"):
        assert summary[key], key
    assert summary["bit_accuracy"]["all_exact"] is True
    assert summary["firmware"]["latency_ns"] <= cfg.firmware.latency_budget_ns
    assert (build / "reports" / "summary.md").read_text().startswith("# Anomaly trigger: summary")

    again = run_flow(cfg, build, resources=False, rtl_events=20_000)["stage_seconds_this_run"]
    assert all(again[s] == 0.0 for s in ("data", "train", "evaluate", "firmware", "compare"))

    raw = yaml.safe_load(cfg_path.read_text())
    raw["firmware"]["rates_khz"] = [20, 50, 100]
    cfg_path.write_text(yaml.safe_dump(raw))
    changed = run_flow(load_config(cfg_path), build, resources=False, rtl_events=20_000)["stage_seconds_this_run"]
    assert changed["train"] == 0.0 and changed["data"] == 0.0
    assert changed["evaluate"] > 0 and changed["firmware"] > 0 and changed["compare"] > 0

    raw["model"]["weight"]["width"] = 5
    cfg_path.write_text(yaml.safe_dump(raw))
    changed = run_flow(load_config(cfg_path), build, resources=False, rtl_events=20_000)["stage_seconds_this_run"]
    assert changed["train"] > 0, "a bit-width change must retrain"
    from trigger.design import load_design

    assert load_design(build / "design.yaml").layers[0].weight_type.width == 5
