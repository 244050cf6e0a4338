"""cocotb tests of the trigger RTL: latency, initiation interval, bit-exactness, rates, reset and valid.

Run through cocotb_tests/runner.py (`trigger sim`, `make sim`), which prepares the events and the environment.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from cocotb_tests.tb import ClockCounter, Driver, Monitor, PortLayout, Scoreboard
from emulator import Emulator
from trigger.physics.scoring import rate_uncertainty, weighted_pass_fraction

BUILD = Path(os.environ["TRIGGER_BUILD"])
EVENTS = Path(os.environ["TRIGGER_SIM_EVENTS"])
RESULTS = Path(os.environ["TRIGGER_SIM_RESULTS"])


class Bench:
    """Everything one test needs: clock, reset, driver, monitor, scoreboard, emulator."""

    def __init__(self, dut):
        self.dut = dut
        self.ports = json.loads((BUILD / "rtl" / "ports.json").read_text())
        self.emu = Emulator.load(BUILD)
        self.layout = PortLayout(self.ports, self.emu.mu_type.frac, self.emu.score_type.frac)
        self.period_ns = self.ports["clock_period_ns"]
        self.counter = ClockCounter(dut)
        self.driver = Driver(dut, self.layout)
        self.monitor = Monitor(dut, self.layout, self.counter)
        self.scoreboard = Scoreboard(logging.getLogger("cocotb.trigger"), [f["name"] for f in self.ports["words"]["fields"]])
        with np.load(EVENTS) as f:
            self.events = {k: f[k] for k in f.files}

    async def start(self):
        period_ps = 2 * round(self.period_ns * 500)  # cocotb needs an even number of time steps
        cocotb.start_soon(Clock(self.dut.clk, period_ps, unit="ps").start())
        cocotb.start_soon(self.counter.run())
        self.dut.valid_in.value = 0
        self.dut.words.value = 0
        self.monitor.start()
        await self.reset()
        self.monitor.armed = True

    async def reset(self, cycles: int = 2):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, cycles)
        self.dut.rst.value = 0

    async def stream(self, words, spacing: int = 1):
        """Drive events, wait for the pipeline to drain; returns the observations of these events."""
        n0 = len(self.monitor.observed)
        await self.driver.send(words, spacing)
        await ClockCycles(self.dut.clk, self.ports["latency_cycles"] + 4)
        return self.monitor.observed[n0:]

    def latency(self, n_before: int, observed) -> int:
        """Clock periods from presenting an input (after edge k0) to its output appearing (after edge k1)."""
        return observed[0].cycle - self.monitor.input_cycles[n_before]

    def score(self, words, observed):
        mu, score, bits = self.emu.run(words)
        assert len(observed) == len(words), f"{len(words)} events sent, {len(observed)} came out"
        for k, obs in enumerate(observed):
            self.scoreboard.check(words[k], (mu[k].tolist(), int(score[k]), bits[k].tolist()), obs)
        return bits

    def save(self, name: str, result: dict):
        result |= {"mismatches": self.scoreboard.mismatches, "compared": self.scoreboard.compared,
                   "bits_without_valid": self.monitor.bits_without_valid, "mismatch_details": self.scoreboard.details}
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1))
        assert self.scoreboard.mismatches == 0, f"{self.scoreboard.mismatches} mismatches against the emulator"
        assert self.monitor.bits_without_valid == 0, "a trigger bit was high while valid_out was low"


@cocotb.test()
async def latency_and_back_to_back(dut):
    """Events one per clock with no bubbles: latency in cycles, II = 1, every output equal to the emulator's."""
    b = Bench(dut)
    await b.start()
    words = b.events["mixed"]
    t0 = time.perf_counter()
    obs = await b.stream(words, spacing=1)
    wall = time.perf_counter() - t0
    b.score(words, obs)
    latency = b.latency(0, obs)
    gaps = {obs[k + 1].cycle - obs[k].cycle for k in range(len(obs) - 1)}
    ii = max(gaps) if gaps else 1
    assert latency == b.ports["latency_cycles"], f"measured latency {latency} != the {b.ports['latency_cycles']} cycles in ports.json"
    assert gaps <= {1}, f"outputs of back-to-back events are not on consecutive clocks: gaps {sorted(gaps)}"
    lat_ns = latency * b.period_ns
    b.save("latency", {"latency_cycles": latency, "latency_ns": lat_ns, "initiation_interval": ii,
                       "events": len(words), "sim_events_per_second": len(words) / wall})
    budget = float(os.environ.get("TRIGGER_LATENCY_BUDGET_NS", "50"))
    assert lat_ns <= budget + 1e-9, f"latency {lat_ns:.2f} ns exceeds the {budget} ns budget"


@cocotb.test()
async def bunch_crossing_spacing(dut):
    """One event every 25 ns (the LHC bunch spacing) gives the same results and the same latency."""
    b = Bench(dut)
    await b.start()
    spacing = max(1, round(25.0 / b.period_ns))
    words = b.events["mixed"][:2000]
    obs = await b.stream(words, spacing=spacing)
    b.score(words, obs)
    latency = b.latency(0, obs)
    assert latency == b.ports["latency_cycles"], f"latency {latency} at bunch spacing differs from back-to-back"
    b.save("bx_spacing", {"spacing_cycles": spacing, "events": len(words), "latency_cycles": latency})


@cocotb.test()
async def edge_cases(dut):
    """Field maxima, empty events, single objects, saturating drives, random full-range words."""
    b = Bench(dut)
    await b.start()
    words = b.events["edges"]
    obs = await b.stream(words, spacing=1)
    b.score(words, obs)
    b.save("edges", {"events": len(words)})


@cocotb.test()
async def trigger_rates(dut):
    """Stream background; trigger-bit counts per threshold must equal the emulator's exactly."""
    b = Bench(dut)
    await b.start()
    words = b.events["background"]
    weights = b.events["background_weights"]
    obs = await b.stream(words, spacing=1)
    emu_bits = b.score(words, obs)
    rtl_bits = np.array([o.bits for o in obs])
    stream_khz = float(os.environ["TRIGGER_STREAM_KHZ"])
    rates = []
    for r, (name, rate) in enumerate(zip(b.emu.threshold_names, b.emu.rates_khz)):
        sel = rtl_bits[:, r] == 1
        frac = weighted_pass_fraction(rtl_bits[:, r], weights, 1)
        err = rate_uncertainty(rtl_bits[:, r], weights, 1)
        rates.append({"threshold": name, "target_khz": rate, "rtl_count": int(sel.sum()), "emulator_count": int(emu_bits[:, r].sum()),
                      "rate_khz": frac * stream_khz, "rate_uncertainty_khz": err * stream_khz})
        assert int(sel.sum()) == int(emu_bits[:, r].sum()), f"trigger count differs for threshold {name}"
    b.save("rates", {"events": len(words), "rates": rates})


@cocotb.test()
async def reset_and_valid(dut):
    """No bit while the pipeline fills or with valid low; a reset mid-stream loses and invents nothing after it."""
    b = Bench(dut)
    await b.start()
    lat = b.ports["latency_cycles"]
    words = b.events["mixed"][:200]
    # valid low: nothing may come out, whatever is on the words port
    for w in words[:20]:
        b.dut.words.value = b.layout.pack(w)
        b.dut.valid_in.value = 0
        await RisingEdge(b.dut.clk)
    await ClockCycles(b.dut.clk, lat + 2)
    assert len(b.monitor.observed) == 0, "valid_out rose with valid_in low"
    # stream, reset while events are in flight (they are dropped), then stream again right after it
    await b.driver.send(words[:50], 1)
    b.dut.rst.value = 1
    await RisingEdge(b.dut.clk)
    b.dut.rst.value = 0
    before = len(b.monitor.observed)
    assert before <= 50, "more events came out than went in"
    obs = await b.stream(words[50:], spacing=1)
    b.score(words[50:], obs)
    b.save("reset_valid", {"events_after_reset": len(obs), "in_flight_dropped": 50 - before})
