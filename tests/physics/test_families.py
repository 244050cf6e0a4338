"""physics.json's `families` section: a bench.scan file's runs on this build's data, min-max over seeds."""

from __future__ import annotations

import json

import pytest

from trigger.config import Config, load_config
from trigger.physics.families import families_section, scan_context, scan_file_key


def _cfg(scan_path) -> Config:
    cfg = load_config(None)
    path = None if scan_path is None else str(scan_path)
    return cfg.model_copy(update={"evaluation": cfg.evaluation.model_copy(update={"families_scan": path})})


def _run(seed, auc, eff, context, cost=1000.0):
    sig = {"auc": auc, "efficiency": {"1": {"efficiency": eff, "uncertainty": 0.01, "random": 0.025}}}
    return {"overrides": {"model.family": "ae_reco"}, "seed": seed, "family": "ae_reco", "training_seconds": 100.0 + seed,
            "signals": {"Ato4l": sig}, "independent_rate_khz": {"1": 0.9 + seed / 100}, "da4ml_cost": cost + seed,
            "context": context}


def test_section_spans_the_seeds_of_this_data_only(tmp_path):
    p = tmp_path / "scan.json"
    cfg = _cfg(p)
    ctx = scan_context(cfg)
    other = dict(ctx, data="0" * 16)
    p.write_text(json.dumps({"ae/seed7": _run(7, 0.9, 0.7, ctx), "ae/seed8": _run(8, 0.8, 0.75, ctx),
                             "ae/seed9": _run(9, 0.1, 0.01, other)}))
    s = families_section(cfg)
    assert s["included"] and s["runs_of_other_data"] == 1
    pt = s["points"]["ae"]
    assert pt["seeds"] == [7, 8] and pt["family"] == "ae_reco"
    assert pt["auc"]["Ato4l"] == [0.8, 0.9]  # seed 9 (other data) is left out: 0.1 would be the minimum
    assert pt["efficiency"]["1"]["Ato4l"] == [0.7, 0.75]
    assert pt["independent_rate_khz"]["1"] == pytest.approx([0.97, 0.98])
    assert pt["da4ml_lut_estimate"] == [1007.0, 1008.0]
    assert pt["training_seconds"] == [107.0, 108.0]


def test_section_says_why_it_is_empty(tmp_path):
    assert families_section(_cfg(None))["included"] is False
    absent = families_section(_cfg(tmp_path / "none.json"))
    assert absent["included"] is False and "absent" in absent["reason"]
    p = tmp_path / "scan.json"
    cfg = _cfg(p)
    p.write_text(json.dumps({"ae/seed7": _run(7, 0.9, 0.7, dict(scan_context(cfg), rates_khz=[2.0]))}))
    s = families_section(cfg)
    assert s["included"] is False and "none of its 1 runs" in s["reason"]


def test_a_new_scan_changes_the_evaluate_key(tmp_path):
    p = tmp_path / "scan.json"
    cfg = _cfg(p)
    k0 = scan_file_key(cfg)
    p.write_text("{}")
    k1 = scan_file_key(cfg)
    p.write_text('{"a": 1}')
    assert len({k0, k1, scan_file_key(cfg)}) == 3


def test_summary_table_shows_each_point(tmp_path):
    from trigger.report import _families_lines

    p = tmp_path / "scan.json"
    cfg = _cfg(p)
    ctx = scan_context(cfg)
    p.write_text(json.dumps({"ae/seed7": _run(7, 0.9, 0.7, ctx), "ae/seed8": _run(8, 0.8, 0.75, ctx)}))
    lines = _families_lines(families_section(cfg), "1")
    row = next(x for x in lines if x.startswith("| ae |"))
    assert "| ae_reco | 2 | 0.80-0.90 / 70.0-75.0 | 0.97-0.98 | 1007-1008 | 107-108 |" in row
    assert any(x.startswith("Not shown:") for x in _families_lines(families_section(_cfg(None)), "1"))
