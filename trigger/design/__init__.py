"""The design file (`trigger-design/1` and `/2`): everything the firmware computes, in one YAML or JSON file.

It is the seam of the tool: training + evaluation write `build/design.yaml` for our own models, `trigger
import` writes it for a design from outside, and every firmware stage (emulator, HLS, RTL, simulation)
reads only it. Values are stored as raw integers of their types once loaded; the file holds real values.

Semantics (what assigning to an `ap_fixed` means in Vitis HLS C++, hls4ml's order of additions):
    x_i   = cast(output, cast(intermediate, word_i - offset_i) >> shift_i)   (the shift moves raw bits)
    layer: p_ij = cast(accum, x_i * w_ij); acc_j = cast(accum, b_j); acc_j = cast(accum, acc_j + p_ij) for i
           in order; y_j = cast(result, acc_j); z_j = cast(activation_type, relu(y_j) or y_j)
    score = balanced tree (hls4ml nnet::reduce) of sum_type additions over cast(sum, cast(square, mu_i^2))
    bit_k = raw(score) >= raw_k

Format 2 states the same as a graph of hls4ml-style nodes (trigger/design/graph.py: node kinds, their semantics and
their validation); a format-1 file loads as the equivalent graph (dense + relu/linear per layer, square, sum).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from trigger.design.reader import DesignError, Reader
from trigger.design.fixed import FixedType

FORMAT = "trigger-design/1"
FORMAT_GRAPH = "trigger-design/2"
ACTIVATIONS = ("relu", "linear")


class ConversionError(ValueError):
    """A model or design that cannot become firmware; the message names the layer and the reason."""


@dataclass(frozen=True)
class InputWord:
    name: str
    type: FixedType  # a word's raw bits are its integer value in this type


@dataclass(frozen=True)
class Scaling:
    offset: np.ndarray  # (n,) raw integers of offset_type
    offset_type: FixedType
    shift: np.ndarray  # (n,) integers; negative = left shift
    intermediate: FixedType
    output: FixedType


@dataclass(frozen=True)
class Layer:
    name: str
    weight: np.ndarray  # (n_in, n_out) raw integers of weight_type
    bias: np.ndarray  # (n_out,) raw integers of bias_type
    weight_type: FixedType
    bias_type: FixedType
    accum_type: FixedType
    result_type: FixedType
    activation: str
    activation_type: FixedType

    @property
    def n_in(self) -> int:
        return self.weight.shape[0]

    @property
    def n_out(self) -> int:
        return self.weight.shape[1]


@dataclass(frozen=True)
class Score:
    square_type: FixedType
    sum_type: FixedType


@dataclass(frozen=True)
class Threshold:
    name: str
    raw: int  # in LSBs of score.sum_type, as written in the file
    rate_khz: float | None = None  # the target rate it was chosen for, when the tool chose it


@dataclass(frozen=True)
class Design:
    """A design. Format 1 gives `layers` and a `Score`; format 2 gives `nodes` and the score node's name. Either
    way `nodes` is the graph every implementation follows (derived from the layers for format 1)."""

    name: str
    inputs: list[InputWord]
    scaling: Scaling
    layers: list[Layer]
    score: "Score | str"
    thresholds: list[Threshold] = field(default_factory=list)
    nodes: tuple = ()
    expose: str | None = None  # the tensor the firmware outputs beside the score (its `mu` port)

    def __post_init__(self):
        from trigger.design.graph import nodes_from_layers

        if isinstance(self.score, Score):
            nodes, score, expose = nodes_from_layers(self.layers, self.score)
            object.__setattr__(self, "nodes", tuple(nodes))
            object.__setattr__(self, "_score_name", score)
            object.__setattr__(self, "_expose", expose)
        else:
            object.__setattr__(self, "nodes", tuple(self.nodes))
            object.__setattr__(self, "_score_name", self.score)
        object.__setattr__(self, "_by_name", {n.name: n for n in self.nodes})
        if not isinstance(self.score, Score):
            object.__setattr__(self, "_expose", self.expose or self.node(self.score).inputs[0])

    @property
    def format(self) -> str:
        return FORMAT if isinstance(self.score, Score) else FORMAT_GRAPH

    def node(self, name: str):
        return self._by_name[name]

    def tensor_type(self, name: str) -> FixedType:
        return self.scaling.output if name == "input" else self._by_name[name].type

    def tensor_size(self, name: str) -> int:
        return self.n_inputs if name == "input" else self._by_name[name].size

    @property
    def score_node(self):
        return self._by_name[self._score_name]

    @property
    def score_type(self) -> FixedType:
        return self.score_node.type

    @property
    def exposed(self) -> str:
        return self._expose

    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    @property
    def latent(self) -> int:
        """How many values the firmware outputs beside the score (the exposed tensor, mu for format 1)."""
        return self.tensor_size(self.exposed)

    @property
    def mu_type(self) -> FixedType:
        return self.tensor_type(self.exposed)

    @property
    def word_min(self) -> np.ndarray:
        return np.array([i.type.int_min for i in self.inputs], dtype=np.int64)

    @property
    def word_max(self) -> np.ndarray:
        return np.array([i.type.int_max for i in self.inputs], dtype=np.int64)

    def threshold_raw(self) -> np.ndarray:
        """Thresholds clamped once into [min, max + 1] of the score type: every implementation compares these
        (min or below: always fires; above max: never)."""
        t = self.score_type
        return np.array([min(max(th.raw, t.int_min), t.int_max + 1) for th in self.thresholds], dtype=np.int64)

    def summary(self) -> str:
        kinds = ", ".join(f"{n.op} {n.name}({n.size})" for n in self.nodes)
        return f"{self.n_inputs} inputs -> {kinds}; score {self._score_name}"

    def to_dict(self) -> dict:
        def vals(raw, t: FixedType):
            return (np.asarray(raw, dtype=np.float64) * t.lsb).tolist()

        s = self.scaling
        d = {
            "format": self.format,
            "name": self.name,
            "inputs": [{"name": i.name, "type": i.type.hls()} for i in self.inputs],
            "scaling": {"offset": vals(s.offset, s.offset_type), "offset_type": s.offset_type.hls(),
                        "shift": [int(x) for x in s.shift], "intermediate": s.intermediate.hls(), "output": s.output.hls()},
        }
        if isinstance(self.score, Score):
            d["layers"] = [
                {"name": L.name, "weight": vals(L.weight, L.weight_type), "bias": vals(L.bias, L.bias_type),
                 "weight_type": L.weight_type.hls(), "bias_type": L.bias_type.hls(), "accum_type": L.accum_type.hls(),
                 "result_type": L.result_type.hls(), "activation": L.activation, "activation_type": L.activation_type.hls()}
                for L in self.layers
            ]
            d["score"] = {"square_type": self.score.square_type.hls(), "sum_type": self.score.sum_type.hls()}
        else:
            d["nodes"] = [n.to_dict() for n in self.nodes]
            d["score"] = self.score
            if self.expose is not None:
                d["expose"] = self.expose
        d["thresholds"] = [{"name": t.name, "raw": int(t.raw)} | ({"rate_khz": t.rate_khz} if t.rate_khz is not None else {})
                           for t in self.thresholds]
        return d

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


# ----------------------------------------------------------------------------------------------- parsing


# long: the format's keys in file order, each validated where it is read, so the key path in an error matches the file
def design_from_dict(d: dict, source: str = "<design>") -> Design:
    r = Reader(source)
    if not isinstance(d, dict):
        r.fail("", "expected a mapping at the top level")
    if d.get("format") not in (FORMAT, FORMAT_GRAPH):
        r.fail("format", f"expected {FORMAT!r} or {FORMAT_GRAPH!r}, got {d.get('format')!r}")
    graph = d["format"] == FORMAT_GRAPH
    if graph:
        r.mapping(d, "", ("format", "inputs", "scaling", "nodes", "score"), ("name", "thresholds", "expose"))
    else:
        r.mapping(d, "", ("format", "inputs", "scaling", "layers", "score"), ("name", "thresholds"))
    if not isinstance(d["inputs"], list) or not d["inputs"]:
        r.fail("inputs", "expected a non-empty list of {name, type}")
    inputs = []
    for k, item in enumerate(d["inputs"]):
        r.mapping(item, f"inputs[{k}]", ("name", "type"))
        inputs.append(InputWord(str(item["name"]), r.type(item["type"], f"inputs[{k}].type")))
    names = [i.name for i in inputs]
    if len(set(names)) != len(names):
        r.fail("inputs", f"duplicate input name {next(n for n in names if names.count(n) > 1)!r}")
    n = len(inputs)

    s = r.mapping(d["scaling"], "scaling", ("offset", "offset_type", "shift", "intermediate", "output"))
    offset_type = r.type(s["offset_type"], "scaling.offset_type")
    intermediate = r.type(s["intermediate"], "scaling.intermediate")
    shift = r.ints(s["shift"], "scaling.shift", n)
    if (np.abs(shift) >= intermediate.width).any():
        k = int(np.flatnonzero(np.abs(shift) >= intermediate.width)[0])
        r.fail(f"scaling.shift[{k}]", f"{shift[k]}: a shift must be smaller than the intermediate's {intermediate.width} bits")
    scaling = Scaling(r.on_grid(s["offset"], offset_type, "scaling.offset", (n,)), offset_type, shift, intermediate,
                      r.type(s["output"], "scaling.output"))

    if graph:
        from trigger.design.graph import read_nodes

        nodes, score_name, expose = read_nodes(r, d, n)
        design = Design(str(d.get("name") or "trigger"), inputs, scaling, [], score_name, _thresholds(r, d), nodes, expose)
        _check_exact_int64(design, r)
        return design
    if not isinstance(d["layers"], list) or not d["layers"]:
        r.fail("layers", "expected a non-empty list of dense layers")
    layers, n_in = [], n
    keys = ("name", "weight", "bias", "weight_type", "bias_type", "accum_type", "result_type", "activation", "activation_type")
    for k, L in enumerate(d["layers"]):
        p = f"layers[{k}]"
        r.mapping(L, p, keys)
        wt, bt, weight, bias = r.dense_params(L, p, n_in, lambda rows: f"expected {n_in} rows (the inputs of this layer), got {rows}")
        w_arr = weight
        if L["activation"] not in ACTIVATIONS:
            r.fail(f"{p}.activation", f"{L['activation']!r}: one of {', '.join(ACTIVATIONS)}")
        layers.append(Layer(str(L["name"]), weight, bias, wt, bt, r.type(L["accum_type"], f"{p}.accum_type"),
                            r.type(L["result_type"], f"{p}.result_type"), L["activation"],
                            r.type(L["activation_type"], f"{p}.activation_type")))
        n_in = w_arr.shape[1]
    lnames = [L.name for L in layers]
    if len(set(lnames)) != len(lnames):
        r.fail("layers", f"duplicate layer name {next(x for x in lnames if lnames.count(x) > 1)!r}")

    sc = r.mapping(d["score"], "score", ("square_type", "sum_type"))
    score = Score(r.type(sc["square_type"], "score.square_type"), r.type(sc["sum_type"], "score.sum_type"))
    design = Design(str(d.get("name") or "trigger"), inputs, scaling, layers, score, _thresholds(r, d))
    _check_exact_int64(design, r)
    return design


def _thresholds(r: Reader, d: dict) -> list[Threshold]:
    thresholds = []
    for k, t in enumerate(d.get("thresholds") or []):
        r.mapping(t, f"thresholds[{k}]", ("name", "raw"), ("rate_khz",))
        raw = r.ints([t["raw"]], f"thresholds[{k}].raw")[0]
        rate = t.get("rate_khz")
        if rate is not None and not isinstance(rate, (int, float)):
            r.fail(f"thresholds[{k}].rate_khz", f"expected a number, got {rate!r}")
        thresholds.append(Threshold(str(t["name"]), int(raw), None if rate is None else float(rate)))
    tnames = [t.name for t in thresholds]
    if len(set(tnames)) != len(tnames):
        r.fail("thresholds", f"duplicate threshold name {next(x for x in tnames if tnames.count(x) > 1)!r}")
    return thresholds


def _check_exact_int64(d: Design, r: Reader) -> None:
    """Every intermediate the emulator forms (aligned words, products aligned to their accumulator) must fit int64."""
    s = d.scaling
    for k, i in enumerate(d.inputs):
        f = max(i.type.frac, s.offset_type.frac)
        if max(i.type.width + f - i.type.frac, s.offset_type.width + f - s.offset_type.frac) + 1 > 62:
            r.fail(f"inputs[{k}]", "word and offset aligned need more than 62 bits")
    from trigger.design.graph import product_width

    for k, n in enumerate(d.nodes):
        bits = product_width(d, n)
        if bits > 62:
            where = f"layers[{k // 2}].accum_type" if d.format == FORMAT and n.op == "dense" else (
                "score.square_type" if d.format == FORMAT else f"nodes[{k}]")
            what = "operands aligned to each other" if n.op in ("add", "subtract", "maximum", "minimum") else "products aligned to their type"
            r.fail(where, f"{what} need {bits} bits: more than the 62 every implementation holds exactly")


def load_design(path: str | Path) -> Design:
    path = Path(path)
    if path.is_dir():
        path = path / "design.yaml"
    if not path.is_file():
        raise DesignError(f"{path}: design file not found (run `trigger evaluate` for a trained model or `trigger import`)")
    try:
        text = path.read_text()
    except UnicodeDecodeError as exc:
        raise DesignError(f"{path}: not a text file ({exc.reason} at byte {exc.start})") from None
    try:
        d = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise DesignError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
    return design_from_dict(d, str(path))


class _FlowLists(yaml.SafeDumper):
    pass


def _repr_list(dumper, data):
    flow = all(not isinstance(x, (dict, list)) for x in data) or all(isinstance(x, list) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow and not any(isinstance(x, dict) for x in data))


_FlowLists.add_representer(list, _repr_list)


def save_design(design: Design, path: str | Path, header: str = "") -> Path:
    """Write the design as YAML (values exact: float repr round-trips), atomically."""
    from trigger.io_utils import atomic_write_text

    path = Path(path)
    body = yaml.dump(design.to_dict(), Dumper=_FlowLists, sort_keys=False, width=120)
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    atomic_write_text(path, comment + body)
    return path
