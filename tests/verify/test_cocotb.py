"""The fast cocotb subset: the full testbench on the tiny design, with small event counts."""


def test_cocotb_testbenches_on_tiny_rtl(tiny):
    from cocotb_tests.runner import run_sim

    cfg, build, _ = tiny
    r = run_sim(cfg, build, events=500)
    assert r["passed"], r["failed_tests"]
    assert r["mismatches"] == 0
    assert r["initiation_interval"] == 1
    assert r["latency_ns"] <= cfg.firmware.latency_budget_ns
    assert r["events_simulated"] >= 1000
    for rate in r["rates"]:
        assert rate["rtl_count"] == rate["emulator_count"]
