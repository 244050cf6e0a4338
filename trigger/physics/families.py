"""physics.json's `families` section: every model family's numbers side by side, from a `bench.scan` results file.

A build trains one family; the comparison needs each family trained over several seeds, which `python -m bench.scan`
does (too long for `make firmware`). This section carries that file's numbers, point by point (min-max over seeds),
but only the points measured on this build's data, rates and stream: a scan of other data is named, not shown.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from trigger.config import Config
from trigger.io_utils import read_json

SCAN_COMMAND = ("python -m bench.scan --config configs/vae_kl.yaml --seeds 7 8 9 --point vae_kl= --point ae_reco=model.family=ae_reco "
                "--point embed_ae=model.family=embed_ae; the or point: python -m bench.scan --seeds 7 8 9 --point "
                "or50=model.or_family.share=0.5 (bench/results/or_scan.json)")


def scan_context(cfg: Config) -> dict:
    """What a scan's numbers depend on besides the model: the data (files and units), the rates and the stream."""
    return {"data": cfg.section_hash("data", "units"), "rates_khz": [float(r) for r in cfg.firmware.rates_khz],
            "stream_rate_khz": float(cfg.evaluation.stream_rate_khz)}


def scan_file_key(cfg: Config) -> str:
    """The scan file's bytes as part of the evaluate stage's key: a new scan makes physics.json stale."""
    p = cfg.evaluation.families_scan
    if p is None or not Path(p).is_file():
        return f"families={p}:absent"
    return "families=" + hashlib.sha256(Path(p).read_bytes()).hexdigest()[:16]


def _span(values: list[float]) -> list[float]:
    return [min(values), max(values)]


def by_point(results: dict) -> dict[str, list[dict]]:
    """A scan file's runs ("point/seedN" keys) grouped by point, in file order."""
    points: dict[str, list] = {}
    for key, r in results.items():
        points.setdefault(key.split("/")[0], []).append(r)
    return points


def point_summary(runs: list[dict]) -> dict:
    """One point's runs as min-max spans over its seeds (the rate and LUT columns only where every run has them)."""
    sigs = list(runs[0]["signals"])
    rates = list(runs[0]["signals"][sigs[0]]["efficiency"])
    out = {
        "family": runs[0]["family"],
        "overrides": runs[0]["overrides"],
        "seeds": sorted(r["seed"] for r in runs),
        "auc": {s: _span([r["signals"][s]["auc"] for r in runs]) for s in sigs},
        "efficiency": {rate: {s: _span([r["signals"][s]["efficiency"][rate]["efficiency"] for r in runs]) for s in sigs}
                       for rate in rates},
        "random_efficiency": {rate: runs[0]["signals"][sigs[0]]["efficiency"][rate]["random"] for rate in rates},
        "training_seconds": _span([r["training_seconds"] for r in runs]),
    }
    if all("independent_rate_khz" in r for r in runs):
        out["independent_rate_khz"] = {rate: _span([r["independent_rate_khz"][rate] for r in runs]) for rate in rates}
    if all("da4ml_cost" in r for r in runs):
        out["da4ml_lut_estimate"] = _span([r["da4ml_cost"] for r in runs])
    return out


def families_section(cfg: Config) -> dict:
    """The section: where the numbers come from and, per scan point, min-max over its seeds."""
    path = cfg.evaluation.families_scan
    base = {"source": path, "command": SCAN_COMMAND, "this_build_family": cfg.model.family,
            "note": "measured by bench.scan (thresholds on the test background, not raised onto the threshold grid; "
                    "the trigger alone, no baselines), not by this build's run"}
    if path is None:
        return base | {"included": False, "reason": "evaluation.families_scan is null"}
    if not Path(path).is_file():
        return base | {"included": False, "reason": f"{path} absent (run the command in its working directory)"}
    results = read_json(Path(path))
    want = scan_context(cfg)
    mine = {key: r for key, r in results.items() if r.get("context") == want}
    other = len(results) - len(mine)
    points = by_point(mine)
    if not points:
        return base | {"included": False, "reason": f"{path}: none of its {len(results)} runs was measured on this build's "
                                                     "data, rates and stream (or it predates recording them)"}
    return base | {"included": True, "runs_of_other_data": other, "points": {name: point_summary(rs) for name, rs in points.items()}}
