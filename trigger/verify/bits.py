"""Bit-level views of events with bitstring: hex/binary field dumps and test-vector files.

Field layouts come from the port description the firmware step writes (rtl/ports.json).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
from bitstring import BitArray

from trigger.verify.ports import pack


def _ports(build) -> dict:
    path = Path(build)
    path = path / "rtl" / "ports.json" if path.is_dir() else path
    return json.loads(path.read_text())


def output_fields(ports: dict) -> list[dict]:
    o = ports["outputs"]
    return o["mu"]["fields"] + o["score"]["fields"] + o["trigger_bits"]["fields"]


def dump_event(build, words, outputs) -> str:
    ports = _ports(build)
    fields = ports["words"]["fields"]
    lines = ["input words:"]
    for v, f in zip(words, fields):
        w = max(f["width"], 1)
        b = BitArray(uint=int(v) & ((1 << w) - 1), length=w)
        lines.append(f"  {f['name']:<14} {int(v):>6}  0x{b.uint:0{(w + 3) // 4}x}  0b{b.bin}")
    total = sum(f["width"] for f in fields)
    lines.append(f"  packed ({total} bits): 0x{pack(words, fields):0{(total + 3) // 4}x}")
    mu, score, bits = outputs
    lines.append("outputs:")
    for f, v in zip(output_fields(ports), [*mu, score, *bits]):
        lines.append(f"  {f['name']:<18} {int(v):>10}  (width {f['width']}, frac {f['frac']}, signed {f['signed']})")
    return "\n".join(lines)


def write_vectors(build, words: np.ndarray, outputs, path) -> None:
    """One event per line: the words in decimal, then '|', then mu..., score, bits...; written atomically."""
    mu, score, bits = outputs
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(f"# words({words.shape[1]}) | mu... score bits...   (integers in units of each field's LSB)\n")
        for w, m, s, b in zip(words, mu, score, bits):
            f.write(" ".join(map(str, w)) + " | " + " ".join(map(str, [*m, s, *b])) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def read_vectors(path) -> tuple[np.ndarray, np.ndarray]:
    words, outs = [], []
    for line in Path(path).read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        a, b = line.split("|")
        words.append([int(x) for x in a.split()])
        outs.append([int(x) for x in b.split()])
    return np.array(words, dtype=np.int64), np.array(outs, dtype=np.int64)
