"""The port layout codec, the one implementation: field values <-> the bits of a port, with every field's offset,
width and sign from the RTL's ports.json. Vectorised over events; the scalar forms (one event as a Python int, for
cocotb and bit dumps) go through the same code."""

from __future__ import annotations

import numpy as np


def pack_fields(words: np.ndarray, fields: list[dict], n_chunks: int) -> np.ndarray:
    """(N, n_fields) raw values -> (N, n_chunks) uint32, each field's low `width` bits at its offset."""
    out = np.zeros((len(words), n_chunks), dtype=np.uint64)
    for k, f in enumerate(fields):
        if not f["width"]:
            continue
        v = words[:, k].astype(np.int64) & ((1 << f["width"]) - 1)
        v = v.astype(np.uint64)
        c, s = divmod(f["offset"], 32)
        out[:, c] |= (v << np.uint64(s)) & np.uint64(0xFFFFFFFF)
        if s + f["width"] > 32:
            out[:, c + 1] |= v >> np.uint64(32 - s)
    return out.astype(np.uint32)


def unpack_fields(chunks: np.ndarray, fields: list[dict], start: int) -> np.ndarray:
    """(N, n_chunks) uint32 of a port whose bit 0 is bit `start` of the layout -> (N, n_fields) int64 raw values."""
    c64 = chunks.astype(np.uint64)
    out = np.zeros((len(chunks), len(fields)), dtype=np.int64)
    for k, f in enumerate(fields):
        w = f["width"]
        if not w:
            continue
        c, s = divmod(f["offset"] - start, 32)
        v = c64[:, c] >> np.uint64(s)
        if s + w > 32:
            v |= c64[:, c + 1] << np.uint64(32 - s)
        v = (v & np.uint64((1 << w) - 1)).astype(np.int64)
        if f["signed"]:
            v = np.where(v >= 1 << (w - 1), v - (1 << w), v)
        out[:, k] = v
    return out


def _chunks_for(fields: list[dict]) -> int:
    return max(((f["offset"] + f["width"] + 31) // 32 for f in fields), default=1) or 1


def pack(values, fields: list[dict]) -> int:
    """One event's field values as one integer, field 0 at the least significant end."""
    chunks = pack_fields(np.asarray([list(values)], dtype=np.int64), fields, _chunks_for(fields))[0]
    return sum(int(c) << (32 * k) for k, c in enumerate(chunks))


def unpack(vector: int, fields: list[dict]) -> list[int]:
    """The field values of one integer laid out as `fields` (offsets from its bit 0)."""
    n = _chunks_for(fields)
    chunks = np.array([[(vector >> (32 * k)) & 0xFFFFFFFF for k in range(n)]], dtype=np.uint32)
    return unpack_fields(chunks, fields, 0)[0].tolist()


def unpack_port(chunks: np.ndarray, fields: list[dict]) -> np.ndarray:
    """(N, n_chunks) uint32 of one port, whose bit 0 is its first field's offset -> (N, n_fields) int64; a port
    without fields (a design without thresholds has no trigger bits) gives (N, 0)."""
    if not fields:
        return np.zeros((len(chunks), 0), dtype=np.int64)
    return unpack_fields(chunks, fields, fields[0]["offset"])


def unpack_port_int(raw: int, fields: list[dict]) -> list[int]:
    """One port's value as an integer (its bit 0 at its first field's offset) -> its field values."""
    return unpack(raw << fields[0]["offset"], fields) if fields else []
