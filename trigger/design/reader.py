"""Reading a design file's parsed YAML/JSON: every rejection names the file and the key path
(`nodes[3].weight: 10 rows, ...`), and the limits every implementation holds exactly."""

from __future__ import annotations

import numpy as np

from trigger.design.fixed import FixedType, FixedTypeError

# Every implementation holds a 48-bit type exactly (the emulator's int64, da4ml's and the C simulation's float64
# read-out below 2^53); products must also fit int64 once aligned (checked per node, 62 bits).
MAX_WIDTH = 48
MAX_PARAM_WIDTH = 24  # weights and biases pass through a float32 Keras model on their way into hls4ml


class DesignError(ValueError):
    """A design that cannot be built; the message names the file and the key path."""


class Reader:
    """Walks the parsed file, naming the key path of everything it rejects."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, msg: str):
        raise DesignError(f"{self.source}: {path}: {msg}")

    def mapping(self, d, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
        if not isinstance(d, dict):
            self.fail(path, f"expected a mapping, got {type(d).__name__}")
        for k in d:
            if k not in required and k not in optional:
                self.fail(f"{path}.{k}" if path else k, "unknown key")
        for k in required:
            if k not in d:
                self.fail(f"{path}.{k}" if path else k, "missing")
        return d

    def type(self, text, path: str) -> FixedType:
        if not isinstance(text, str):
            self.fail(path, f"expected a type string such as 'ap_fixed<8,3>', got {text!r}")
        try:
            t = FixedType.parse(text)
        except FixedTypeError as exc:
            self.fail(path, str(exc))
        if t.width > MAX_WIDTH:
            self.fail(path, f"{t.width} bits: the implementations support types of at most {MAX_WIDTH} bits")
        return t

    def ints(self, v, path: str, n: int | None = None) -> np.ndarray:
        a = self.array(v, path, 1)
        if n is not None and len(a) != n:
            self.fail(path, f"expected {n} values, got {len(a)}")
        if not np.array_equal(a, np.rint(a)):
            bad = int(np.flatnonzero(a != np.rint(a))[0])
            self.fail(f"{path}[{bad}]", f"{a[bad]!r} is not an integer")
        return np.rint(a).astype(np.int64)

    def array(self, v, path: str, ndim: int) -> np.ndarray:
        try:
            a = np.array(v, dtype=np.float64)
        except (TypeError, ValueError):
            self.fail(path, f"expected a {'list' if ndim == 1 else 'list of equal-length lists'} of numbers")
        if a.ndim != ndim:
            self.fail(path, f"expected {ndim} dimension(s), got shape {a.shape}")
        if not np.isfinite(a).all():
            self.fail(path, "values must be finite numbers")
        return a

    def dense_params(self, item: dict, p: str, n_in: int, rows_msg) -> tuple:
        """(weight_type, bias_type, weight, bias) of a dense layer or node, raw; rows_msg(rows) words a row-count error."""
        wt, bt = self.type(item["weight_type"], f"{p}.weight_type"), self.type(item["bias_type"], f"{p}.bias_type")
        for key, t in (("weight_type", wt), ("bias_type", bt)):
            if t.width > MAX_PARAM_WIDTH:
                self.fail(f"{p}.{key}", f"{t.width} bits: weights and biases of at most {MAX_PARAM_WIDTH} bits are supported")
        w_arr = self.array(item["weight"], f"{p}.weight", 2)
        if w_arr.shape[0] != n_in:
            self.fail(f"{p}.weight", rows_msg(w_arr.shape[0]))
        weight = self.on_grid(item["weight"], wt, f"{p}.weight", w_arr.shape)
        return wt, bt, weight, self.on_grid(item["bias"], bt, f"{p}.bias", (w_arr.shape[1],))

    def on_grid(self, v, t: FixedType, path: str, shape: tuple[int, ...]) -> np.ndarray:
        a = self.array(v, path, len(shape))
        if a.shape != shape:
            self.fail(path, f"expected shape {shape}, got {a.shape}")
        raw = a * 2.0**t.frac
        ok = (raw == np.rint(raw)) & (raw >= t.int_min) & (raw <= t.int_max)
        if not ok.all():
            idx = tuple(int(i) for i in np.argwhere(~ok)[0])
            where = "".join(f"[{i}]" for i in idx)
            why = "is not on the grid of" if raw[idx] != np.rint(raw[idx]) else "is outside the range of"
            self.fail(f"{path}{where}", f"{a[idx]!r} {why} {t.hls()}")
        return np.rint(raw).astype(np.int64)
