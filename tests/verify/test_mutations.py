"""`compare` must be able to fail: a flipped weight in the HLS weights, one in the emitted Verilog, one in the
emulator's design file, and a shifted threshold each make it report the mismatch (pair, event, field), and
the CLI exit with status 1."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from mutate import flip_hls_weight
import yaml

from trigger.verify.compare import compare


@pytest.fixture()
def copy_of_tiny(tiny, tmp_path):
    cfg, build, _ = tiny
    dst = tmp_path / "build"
    shutil.copytree(build, dst, ignore=shutil.ignore_patterns("sim"))
    return cfg, dst


def _bad_pairs(r: dict) -> dict[str, int]:
    rows = r["pairs"] + [r["emulator_vs_verilog_large"]]
    return {p["pair"]: p["mismatches"] for p in rows if p["mismatches"]}


def _flip_verilog_adder(build):
    for stage in sorted((build / "rtl" / "src").glob("trigger_core_stage*.v")):
        text = stage.read_text()
        m = re.search(r"shift_adder #\(((?:-?\d+, ){6})([01])\) (\w+) \((v\d+\[[^\]]*\]), (v\d+\[[^\]]*\])", text)  # two variable operands
        if m:
            stage.write_text(text[: m.start(2)] + str(1 - int(m.group(2))) + text[m.end(2):])
            return "verilog"
    raise AssertionError("no adder of two variables found in the Verilog")


def _flip_design_weight(build):
    d = yaml.safe_load((build / "design.yaml").read_text())
    w = np.array(d["layers"][0]["weight"])
    i, j = np.argwhere(w != 0)[0]
    d["layers"][0]["weight"][i][j] = -float(w[i, j])
    (build / "design.yaml").write_text(yaml.safe_dump(d))
    return "emulator"


@pytest.mark.parametrize("mutate", [flip_hls_weight, _flip_verilog_adder, _flip_design_weight], ids=["hls", "verilog", "design"])
def test_a_mutation_is_reported(copy_of_tiny, mutate):
    cfg, build = copy_of_tiny
    culprit = mutate(build)
    r = compare(cfg, build, rtl_events=30_000)
    assert not r["all_exact"]
    bad = _bad_pairs(r)
    assert bad and all(culprit in pair for pair in bad), f"mismatches outside the mutated {culprit}: {bad}"
    first = next(p for p in r["pairs"] if p["mismatches"])["first_mismatches"][0]
    assert "index" in first and "words" in first and "mu" in next(v for v in first.values() if isinstance(v, dict))
    assert "First mismatches" in (build / "reports" / "bit_accuracy.md").read_text()


def test_a_shifted_threshold_is_reported_and_the_cli_fails(copy_of_tiny):
    from typer.testing import CliRunner

    from emulator import Emulator
    from trigger.cli import app
    from trigger.verify.compare import load_events

    cfg, build = copy_of_tiny
    emu = Emulator.load(build)
    words = load_events(cfg, None, None, emu, True)[0]
    scores = np.unique(emu.run(words)[1])
    d = yaml.safe_load((build / "design.yaml").read_text())
    t = d["thresholds"][0]["raw"]
    nxt = scores[scores >= t]
    assert len(nxt), "some compared event must pass the first threshold"
    d["thresholds"][0]["raw"] = int(nxt[0]) + 1  # shifted just past an event's score: that event's bit changes
    (build / "design.yaml").write_text(yaml.safe_dump(d))
    res = CliRunner().invoke(app, ["compare", "--build", str(build), "--rtl-events", "20000"])
    assert res.exit_code == 1, res.output
    r = __import__("json").loads((build / "reports" / "bit_accuracy.json").read_text())
    bad = [p for p in r["pairs"] if p["mismatches"]]
    firmware = {"csim", "da4ml_ir", "verilog"}  # built with the old threshold; qkeras's bits use the design's
    assert bad and all(len(firmware & set(p["pair"].split(" vs "))) == 1 for p in bad)
    assert all(p["exact_fraction_score"] == 1.0 and p["exact_fraction_mu"] == [1.0] * emu.latent for p in bad)
    assert min(p["exact_fraction_bits"][d["thresholds"][0]["name"]] for p in bad) < 1.0
