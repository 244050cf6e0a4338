"""Testbench components, each readable on its own: port layout, driver, monitor, scoreboard.

Every bit position comes from the RTL's ports.json; nothing here is hard-coded to a design.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from trigger.verify.ports import pack, unpack_port_int


class PortLayout:
    def __init__(self, ports: dict, mu_frac: int, score_frac: int):
        self.ports = ports
        self.in_fields = ports["words"]["fields"]
        out = ports["outputs"]
        self.mu_fields, self.score_field, self.bit_fields = out["mu"]["fields"], out["score"]["fields"][0], out["trigger_bits"]["fields"]
        self.mu_frac, self.score_frac = mu_frac, score_frac

    def pack(self, words) -> int:
        return pack(words, self.in_fields)

    def unpack(self, mu_raw: int, score_raw: int, bits_raw: int):
        """Port values -> (mu, score, bits) in units of the emulator's types."""
        # each port starts at its first field's offset in the core's output vector
        mu = unpack_port_int(mu_raw, self.mu_fields)
        mu = [v << (self.mu_frac - f["frac"]) for v, f in zip(mu, self.mu_fields)]
        sf = self.score_field
        score = unpack_port_int(score_raw, [sf])[0] << (self.score_frac - sf["frac"])
        bits = unpack_port_int(bits_raw, self.bit_fields)
        return mu, score, bits


class Driver:
    """Puts one event on `words` with valid_in high per scheduled clock; valid_in low otherwise."""

    def __init__(self, dut, layout: PortLayout):
        self.dut, self.layout = dut, layout

    async def send(self, events, spacing: int = 1):
        dut = self.dut
        for k, words in enumerate(events):
            dut.words.value = self.layout.pack(words)
            dut.valid_in.value = 1
            await RisingEdge(dut.clk)
            dut.valid_in.value = 0
            for _ in range(spacing - 1):
                await RisingEdge(dut.clk)
        dut.valid_in.value = 0


class ClockCounter:
    def __init__(self, dut):
        self.dut, self.cycle = dut, 0

    async def run(self):
        while True:
            await RisingEdge(self.dut.clk)
            self.cycle += 1


@dataclass
class Observation:
    cycle: int
    mu: list
    score: int
    bits: list


class Monitor:
    """Samples the outputs after every clock edge; records valid events and flags bits raised without valid."""

    def __init__(self, dut, layout: PortLayout, counter: ClockCounter):
        self.dut, self.layout, self.counter = dut, layout, counter
        self.observed: list[Observation] = []
        self.input_cycles: list[int] = []  # the clock edge after which each valid input was presented
        self.bits_without_valid = 0
        self.armed = False  # outputs are unknown until the first reset
        self._task = None

    def start(self):
        self._task = cocotb.start_soon(self._run())

    def stop(self):
        if self._task:
            self._task.cancel()

    async def _run(self):
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            if not self.armed:
                continue
            # inputs written after edge k are visible now (and sampled at edge k + 1)
            if dut.valid_in.value.is_resolvable and int(dut.valid_in.value) == 1:
                self.input_cycles.append(self.counter.cycle)
            bits_raw = dut.trigger_bits.value.to_unsigned() if dut.trigger_bits.value.is_resolvable else 0
            valid = dut.valid_out.value.is_resolvable and int(dut.valid_out.value) == 1
            if not valid:
                if not dut.trigger_bits.value.is_resolvable or bits_raw:
                    self.bits_without_valid += 1
                continue
            mu, score, bits = self.layout.unpack(dut.mu.value.to_unsigned(), dut.score.value.to_unsigned(), bits_raw)
            self.observed.append(Observation(self.counter.cycle, mu, score, bits))


@dataclass
class Scoreboard:
    """Compares observed outputs, in order, with the emulator's."""

    log: object
    field_names: list
    mismatches: int = 0
    compared: int = 0
    details: list = field(default_factory=list)

    def check(self, words, expected, observed: Observation):
        emu_mu, emu_score, emu_bits = expected
        self.compared += 1
        if list(emu_mu) == list(observed.mu) and emu_score == observed.score and list(emu_bits) == list(observed.bits):
            return True
        self.mismatches += 1
        if len(self.details) < 5:
            fields = ", ".join(f"{n}={int(w)}" for n, w in zip(self.field_names, words) if int(w))
            msg = (f"MISMATCH event {self.compared - 1}: input words {{{fields}}}\n"
                   f"  emulator: mu={list(emu_mu)} score={emu_score} bits={list(emu_bits)}\n"
                   f"  RTL     : mu={observed.mu} score={observed.score} bits={observed.bits}")
            self.log.error(msg)
            self.details.append(msg)
        return False
