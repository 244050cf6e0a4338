"""The emitted Verilog itself, reset/valid wrapper included, simulated by Verilator for `trigger compare`.

A C++ harness (trigger/templates/verilator/) clocks `trigger_top` one event per cycle and keeps what
comes out with valid_out. It is linked against the RTL's Verilated model, which the cocotb pass shares (both
cached under the RTL's hash in BUILD/sim/); ports and field layout come from rtl/ports.json.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from trigger.firmware.templates import render_tree
from trigger.verify.ports import pack_fields, unpack_port
from trigger.firmware.verilator import MODEL, link_main, rtl_sha256, verilated_model


def _chunks(width: int) -> int:
    return max((width + 31) // 32, 1)


class VerilogSim:
    def __init__(self, build: str | Path):
        self.build = Path(build).resolve()  # Verilator runs in the harness folder: every path absolute
        self.rtl = self.build / "rtl"
        self.ports = json.loads((self.rtl / "ports.json").read_text())
        p, o = self.ports, self.ports["outputs"]
        self.in_fields = p["words"]["fields"]
        self.mu_fields, self.score_field, self.bit_fields = o["mu"]["fields"], o["score"]["fields"][0], o["trigger_bits"]["fields"]
        self.n_in = _chunks(p["words"]["width"])
        self.n_mu = _chunks(sum(f["width"] for f in self.mu_fields))
        self.n_score = _chunks(self.score_field["width"])
        self.n_bits = _chunks(len(self.bit_fields))
        self.sha256 = rtl_sha256(self.rtl, p)
        self.exe = self._build()

    def _build(self) -> Path:
        """The harness linked against the RTL's shared Verilated model (BUILD/sim/verilator, which the cocotb pass
        links its simulator against too), rebuilt when the RTL changed."""
        out = self.build / "sim" / "harness"
        exe = out / "trigger_harness"
        stamp = out / "rtl.sha256"
        if exe.exists() and stamp.exists() and stamp.read_text() == self.sha256:
            return exe
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        render_tree("verilator", out, {"MODEL": MODEL, "IN_CHUNKS": self.n_in, "MU_CHUNKS": self.n_mu,
                                       "SCORE_CHUNKS": self.n_score, "BITS_CHUNKS": self.n_bits, "LATENCY": self.ports["latency_cycles"]})
        try:
            model = verilated_model(self.rtl, self.ports, self.build / "sim" / "verilator")
            link_main(model, out / "trigger_harness.cpp", exe)
        except RuntimeError as exc:
            raise RuntimeError(f"Verilator could not build the harness of {self.rtl}: {exc}") from None
        stamp.write_text(self.sha256)
        return exe

    def run(self, words: np.ndarray, mu_frac: int, score_frac: int):
        """(mu, score, bits) as raw integers of the design's types (mu_frac, score_frac: their fraction bits)."""
        n = len(words)
        if n == 0:
            return np.zeros((0, len(self.mu_fields)), np.int64), np.zeros(0, np.int64), np.zeros((0, len(self.bit_fields)), np.int64)
        with tempfile.TemporaryDirectory() as tmp:
            fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
            pack_fields(np.asarray(words), self.in_fields, self.n_in).tofile(fin)
            res = subprocess.run([str(self.exe), str(fin), str(fout), str(n)], capture_output=True, text=True)
            if res.returncode != 0:
                raise RuntimeError(f"Verilog simulation failed: {res.stderr.strip()[-2000:]}")
            o = np.fromfile(fout, dtype=np.uint32).reshape(n, self.n_mu + self.n_score + self.n_bits)
        mu = unpack_port(o[:, : self.n_mu], self.mu_fields)
        mu = mu << np.array([mu_frac - f["frac"] for f in self.mu_fields], dtype=np.int64)
        sf = self.score_field
        score = unpack_port(o[:, self.n_mu : self.n_mu + self.n_score], [sf])[:, 0] << (score_frac - sf["frac"])
        bits = unpack_port(o[:, self.n_mu + self.n_score :], self.bit_fields)
        return mu, score, bits
