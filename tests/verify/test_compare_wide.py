"""`compare` on a design of two inputs whose values pass 2^32: every leg runs, da4ml's graph through its Python
interpreter (its C++ one is not exact past 32 bits), and the edge-case set the design has no words for (one object
is three inputs) is left out. Before session 20 this crashed: the interpreter's rows of an empty set could not be
reshaped."""

from __future__ import annotations

import json

import numpy as np

WIDE = {
    "format": "trigger-design/2", "name": "wide_two_inputs",
    "inputs": [{"name": "w0", "type": "ap_uint<8>"}, {"name": "w1", "type": "ap_uint<8>"}],
    "scaling": {"offset": [3, 5], "offset_type": "ap_int<8>", "shift": [0, 1], "intermediate": "ap_fixed<20,16>",
                "output": "ap_fixed<16,8>"},
    "nodes": [
        {"name": "a", "op": "linear", "input": "input", "type": "ap_fixed<12,40>"},  # LSB 2^28: floors to 0 or -2^28
        {"name": "b", "op": "linear", "input": "input", "type": "ap_fixed<12,-8,AP_RND_CONV,AP_SAT>"},
        {"name": "c", "op": "add", "inputs": ["a", "b"], "type": "ap_fixed<40,34,AP_RND_CONV,AP_SAT>"},
        {"name": "score", "op": "sum", "input": "c", "type": "ap_fixed<44,36,AP_RND,AP_SAT>"},
    ],
    "score": "score", "thresholds": [{"name": "t0", "raw": -(2**28) * 64}],
}


def test_compare_runs_every_leg_on_a_two_input_design_past_32_bits(tmp_path):
    from trigger.config import load_config
    from trigger.design import design_from_dict, save_design
    from trigger.firmware.build import build_firmware
    from trigger.model.importer import import_design
    from trigger.verify.compare import compare

    save_design(design_from_dict(WIDE), tmp_path / "wide.yaml")
    build = tmp_path / "b"
    import_design(tmp_path / "wide.yaml", build)
    cfg = load_config(None)
    build_firmware(cfg, build)
    r = compare(cfg, build, rtl_events=20000)
    assert r["all_exact"] is True, json.dumps(r["pairs"])[:2000]
    assert "Python interpreter" in r["da4ml_ir_note"] and "single_object" not in r["edge_cases"]
    assert all(p["events"] > 0 for v in r["edge_cases"].values() for p in v)
    assert any("da4ml_ir" in p["pair"] for p in r["pairs"])
    assert np.isfinite([p["exact_fraction_all"] for p in r["pairs"]]).all()
