"""`trigger import`: make a build folder from a design file, or from a (Q)Keras model + hls4ml configuration."""

from __future__ import annotations

from pathlib import Path

import yaml

from trigger.design import Design, DesignError, design_from_dict, load_design, save_design


def import_design(path: str | Path, build: str | Path) -> Design:
    """Validate a design and make `build` a build that every firmware command uses."""
    design = load_design(path)
    save_design(design, Path(build) / "design.yaml", header=f"Imported by `trigger import` from {Path(path).resolve()}")
    return design


def _yaml(path: Path, what: str) -> dict:
    if not Path(path).is_file():
        raise DesignError(f"{path}: {what} not found")
    try:
        d = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise DesignError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(d, dict):
        raise DesignError(f"{path}: expected a mapping at the top level")
    return d


class _Precisions:
    """hls4ml's configuration layout: Model.Precision (default) and LayerName.<layer>.Precision.<key>."""

    def __init__(self, hc: dict, source: str):
        self.hc, self.source = hc, source
        self.default = (hc.get("Model") or {}).get("Precision")
        self.layers = hc.get("LayerName") or {}

    def get(self, layer: str, key: str) -> str:
        p = (self.layers.get(layer) or {}).get("Precision")
        value = p.get(key) if isinstance(p, dict) else p
        if value is None:
            value = self.default.get(key, self.default.get("default")) if isinstance(self.default, dict) else self.default
        if value is None or value == "auto":
            raise DesignError(f"{self.source}: LayerName.{layer}.Precision.{key}: {'auto' if value else 'missing'}; "
                              "the design needs an explicit type for every precision")
        return str(value)


def _quantized(layer, which: str):
    """A QDense's kernel/bias as its quantizer makes them (what hls4ml exports); a Dense's as they are."""
    import numpy as np

    values = {"kernel": layer.kernel, "bias": layer.bias}[which]
    q = getattr(layer, f"{which}_quantizer_internal", None)
    return np.asarray(q(values) if q is not None else values, dtype=np.float64)


def _activation_name(layer) -> str | None:
    """'relu', 'linear', or None for something a design cannot express."""
    act = getattr(layer, "activation", None)
    name = getattr(act, "__name__", None) or (act.__class__.__name__ if act is not None else "linear")
    if name in ("linear", "relu"):
        return name
    if hasattr(act, "get_config") and act.__class__.__name__ == "quantized_relu":
        return "relu"
    q = getattr(layer, "quantizer", None)  # QActivation("quantized_relu(...)")
    if q is not None and q.__class__.__name__ == "quantized_relu":
        return "relu"
    return None


def design_from_keras(model, hls_config: dict, spec: dict, source: str = "<keras>") -> Design:
    """The design of a Keras/QKeras dense encoder converted with `hls_config` (hls4ml's own layout)."""
    import tensorflow as tf

    prec = _Precisions(hls_config, source)
    layers, pending = [], None
    for layer in model.layers:
        kind = type(layer).__name__
        if isinstance(layer, tf.keras.layers.InputLayer):
            continue
        if kind in ("Dense", "QDense"):
            if pending is not None:
                layers.append(pending)
            act = _activation_name(layer)
            if act is None:
                raise DesignError(f"{source}: layer {layer.name!r}: activation {layer.activation} is not relu or linear")
            w, b = _quantized(layer, "kernel"), _quantized(layer, "bias") if layer.use_bias else None
            result = prec.get(layer.name, "result")
            pending = {"name": layer.name, "weight": w.tolist(), "bias": (b if b is not None else w[0] * 0).tolist(),
                       "weight_type": prec.get(layer.name, "weight"), "bias_type": prec.get(layer.name, "bias"),
                       "accum_type": prec.get(layer.name, "accum"), "result_type": result, "activation": act,
                       "activation_type": prec.get(f"{layer.name}_{act}", "result") if act == "relu" else result}
        elif kind in ("Activation", "QActivation", "ReLU"):
            act = "relu" if kind == "ReLU" else _activation_name(layer)
            if pending is None or act is None or pending["activation"] == "relu":
                raise DesignError(f"{source}: layer {layer.name!r}: a {kind} the design cannot express here "
                                  "(one relu or linear activation after each dense layer)")
            pending["activation"] = act
            pending["activation_type"] = prec.get(layer.name, "result")
        else:
            raise DesignError(f"{source}: layer {layer.name!r}: {kind} cannot be expressed in a design (Dense/QDense, ReLU/QActivation, linear)")
    if pending is None:
        raise DesignError(f"{source}: no dense layer in the model")
    layers.append(pending)
    missing = [k for k in ("inputs", "scaling", "score") if k not in spec]
    if missing:
        raise DesignError(f"{source}: the spec lacks {', '.join(missing)}")
    d = {"format": "trigger-design/1", "name": spec.get("name", model.name), "inputs": spec["inputs"], "scaling": spec["scaling"],
         "layers": layers, "score": spec["score"], "thresholds": spec.get("thresholds", [])}
    return design_from_dict(d, source)


def import_keras(model_path: str | Path, hls_config_path: str | Path, spec_path: str | Path, build: str | Path) -> Design:
    from trigger.model.train import load_keras_file

    model = load_keras_file(model_path)
    design = design_from_keras(model, _yaml(Path(hls_config_path), "hls4ml configuration"), _yaml(Path(spec_path), "spec"),
                               f"{model_path} + {hls_config_path} + {spec_path}")
    save_design(design, Path(build) / "design.yaml", header=f"Imported by `trigger import --keras` from {Path(model_path).resolve()}")
    return design
