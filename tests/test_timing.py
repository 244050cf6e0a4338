"""Latency and timing enforced: a design over its latency budget fails; the depth estimate reads yosys's
longest path and flags a stage too deep for the clock."""

from __future__ import annotations

import shutil

import pytest

from trigger.firmware.timing import DELAY_MODEL, _path_cells

LTP = """Longest topological path in trigger_core_stage3 (length=6):
    0: \\model_inp [3]
    1: $abc$1$aiger$o1 (via $abc$1$lut$aiger$7)
    2: $x.A [1] (via $auto$alumacc.cc:578:replace_alu$9.genblk1.slice[0].genblk1.carry4)
    3: $x.B [1] (via $auto$alumacc.cc:578:replace_alu$9.genblk1.slice[1].genblk1.carry4)
    4: $abc$1$aiger$o2 (via $abc$1$lut$not$aiger$8)
    5: \\model_out [2] (via $abc$1$lut$aiger$9)
"""


def test_path_cells_counts_luts_and_carries():
    assert _path_cells(LTP) == (3, 2, 6)
    lut, carry, overhead = DELAY_MODEL["xcup"]
    assert overhead + 3 * lut + 2 * carry < 4.17  # such a stage fits 240 MHz by the estimate


def test_over_the_latency_budget_fails(tiny, tmp_path):
    from trigger.firmware.build import LatencyBudgetError, build_firmware

    cfg, build, _ = tiny
    dst = tmp_path / "b"
    shutil.copytree(build, dst, ignore=shutil.ignore_patterns("sim", "hls", "rtl"))
    tight = cfg.model_copy(update={"firmware": cfg.firmware.model_copy(update={"latency_cutoff": 1.5})})  # a register every adder or two
    with pytest.raises(LatencyBudgetError, match=r"latency \d+ cycles = .* exceeds the budget of 50 ns"):
        build_firmware(tight, dst, verilator_lint=False)


def test_a_stage_too_deep_for_the_clock_fails_or_warns(tiny, tmp_path, monkeypatch):
    """The depth check's decision, on the tiny build's real RTL and ports, with yosys's per-stage depths given
    (yosys on a deep stage takes minutes: the 13 ns case is measured in the README, not here)."""
    import trigger.firmware.resources as resources
    import trigger.firmware.timing as timing
    from trigger.firmware.build import write_resources
    from trigger.firmware.timing import TimingEstimateError

    cfg, build, _ = tiny
    dst = tmp_path / "b"
    shutil.copytree(build, dst, ignore=shutil.ignore_patterns("sim"))
    counts = {"luts": 1, "ffs": 1, "carry": 1, "dsps": 0, "srl": 0, "family": "xcup", "square_in": "dsp",
              "squares_land_in": "LUT", "families": {}, "tool": "given", "note": "given"}
    monkeypatch.setattr(resources, "synth_all", lambda *a, **k: dict(counts))
    deep = [{"stage": "trigger_core_stage0", "lut_levels": 16, "carry_cells": 36, "path_cells": 60, "estimate_ns": 9.7}]
    monkeypatch.setattr(timing, "stage_depths", lambda *a, **k: deep)
    with pytest.raises(TimingEstimateError, match=r"stage0 has 16 LUT levels \+ 36 carry cells, about 9.70 ns against a 4.167 ns clock"):
        write_resources(dst, cfg)
    warn = cfg.model_copy(update={"firmware": cfg.firmware.model_copy(update={"depth_check": "warn"})})
    res = write_resources(dst, warn)
    assert res["timing_estimate"]["fits_estimate"] is False
    shallow = [dict(deep[0], lut_levels=3, carry_cells=2, estimate_ns=2.0)]
    monkeypatch.setattr(timing, "stage_depths", lambda *a, **k: shallow)
    assert write_resources(dst, cfg)["timing_estimate"]["fits_estimate"] is True


ADDER = """module sq_sum (input clk, input [7:0] a, input [7:0] b, output reg [16:0] s);
    always @(posedge clk) s <= a * a + b;
endmodule
"""


@pytest.mark.parametrize("mapper", ["abc9", "abc"])
def test_both_lut_mappers_map_every_gate(tmp_path, mapper):
    """synth_xilinx as it is and with its map_luts step on classic abc: a fully mapped netlist (LUTs, carries,
    FFs, no generic gates left), the squares in LUTs with -nodsp."""
    import json

    from trigger.firmware.resources import run_yosys, synth_commands

    (tmp_path / "sq.v").write_text(ADDER)
    script = f"read_verilog sq.v; {synth_commands('xcup', 'sq_sum', True, mapper)}; tee -q -o stat.json stat -json"
    res = run_yosys(script, tmp_path, 600, "sq_sum")
    assert res.returncode == 0, res.stderr
    cells = json.loads((tmp_path / "stat.json").read_text())["modules"]["\\sq_sum"]["num_cells_by_type"]
    assert sum(v for k, v in cells.items() if k.startswith("LUT")) > 0
    assert cells.get("FDRE", 0) == 17
    assert not [k for k in cells if k.startswith("$_") or k.startswith("DSP")], cells


def test_a_yosys_run_past_its_timeout_names_the_way_out(tmp_path):
    from trigger.firmware.resources import run_yosys, synth_commands

    (tmp_path / "sq.v").write_text(ADDER)
    with pytest.raises(RuntimeError, match=r"did not finish sq_sum within firmware.synth_timeout_s = 0.01 s.*lut_mapper: abc"):
        run_yosys(f"read_verilog sq.v; {synth_commands('xcup', 'sq_sum', True, 'abc9')}", tmp_path, 0.01, "sq_sum")
    with pytest.raises(ValueError, match="unknown lut_mapper"):
        synth_commands("xcup", "sq_sum", True, "vpr")


def test_the_summary_flags_a_stage_too_deep():
    from trigger.report import _depth_line

    est = {"clock_period_ns": 4.167, "fits_estimate": False,
           "deepest_stage": {"stage": "trigger_core_stage1", "lut_levels": 7, "carry_cells": 14, "estimate_ns": 4.29}}
    assert "TOO DEEP for the clock by the estimate" in _depth_line(est) and "4.29 ns against 4.167 ns" in _depth_line(est)
    assert "fits the clock by the estimate" in _depth_line(dict(est, fits_estimate=True))
    assert "no current report" in _depth_line(None)
