"""Small synthetic files in the exact ADC2021 layout, for fast tests (no Pythia)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from trigger.data.io import write_events
from trigger.data.layout import N_OBJECTS, SLOT_CLASS, SLOTS

TINY_CONFIG = Path(__file__).parent / "configs" / "tiny.yaml"


def synthetic_events(n: int, seed: int, pt_scale: float = 20.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = np.zeros((n, N_OBJECTS, 4))
    p[:, 0, 0] = rng.exponential(pt_scale, n)
    p[:, 0, 2] = rng.uniform(-np.pi, np.pi, n)
    for obj, mean_n, eta_max in (("egamma", 0.8, 2.9), ("muon", 0.8, 2.0), ("jet", 3.0, 3.9)):
        sl = SLOTS[obj]
        k = np.minimum(rng.poisson(mean_n, n), sl.stop - sl.start)
        for j in range(sl.stop - sl.start):
            on = k > j
            m = on.sum()
            p[on, sl.start + j, 0] = np.sort(rng.exponential(pt_scale, m))[::-1] + 3
            p[on, sl.start + j, 1] = rng.uniform(-eta_max, eta_max, m)
            p[on, sl.start + j, 2] = rng.uniform(-np.pi, np.pi, m)
        # keep pT order within the object type
        block = p[:, sl, :]
        order = np.argsort(-block[:, :, 0], axis=1, kind="stable")
        p[:, sl, :] = np.take_along_axis(block, order[:, :, None], axis=1)
    p[:, :, 3] = np.where(p[:, :, 0] > 0, SLOT_CLASS[None, :], 0)
    return p


def write_tiny_dataset(root: Path, n_bkg: int = 3000, n_sig: int = 1000) -> Path:
    """Files for every process of tests/configs/tiny.yaml, under root/data; returns the config path."""
    cfg = yaml.safe_load(TINY_CONFIG.read_text())
    data_dir = root / "data"
    cfg["data"]["dir"] = str(data_dir)
    for i, name in enumerate(cfg["data"]["background"]):
        p = synthetic_events(n_bkg, seed=10 + i, pt_scale=15 + 5 * i)
        w = np.random.default_rng(i).uniform(0.5, 1.5, n_bkg)
        write_events(data_dir / f"{name}.h5", p, w, process=name, lepton_filter=True)
    for i, name in enumerate(cfg["data"]["signals"]):
        write_events(data_dir / f"{name}.h5", synthetic_events(n_sig, seed=100 + i, pt_scale=45 + 10 * i), process=name, lepton_filter=False)
    path = root / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def train_tiny_family(root: Path, model: dict, training: dict | None = None):
    """Train and evaluate one model family on the tiny dataset: `model` / `training` update the tiny config's
    sections. Returns (cfg, build, physics.json's dict, train's history)."""
    from trigger.config import load_config, save_config
    from trigger.model.train import train
    from trigger.physics.evaluate import evaluate

    path = write_tiny_dataset(root)
    d = yaml.safe_load(path.read_text())
    d["model"].update(model)
    d["training"].update(training or {})
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    cfg = load_config(path)
    build = root / "build"
    hist = train(cfg, build, baselines=False)
    save_config(cfg, build / "config.yaml")
    return cfg, build, evaluate(cfg, build, plots=False), hist


def firmware_is_exact(cfg, build) -> None:
    """`trigger firmware` and `compare` of a trained family: every implementation, the Verilog included, exact."""
    from trigger.firmware.build import build_firmware
    from trigger.verify.compare import compare

    build_firmware(cfg, build)
    r = compare(cfg, build, rtl_events=3000)
    legs = {x for p in r["pairs"] for x in p["pair"].split(" vs ")}
    assert {"emulator", "qkeras_mu", "verilog"} <= legs, legs
    assert r["all_exact"], [(p["pair"], p["exact_fraction_all"]) for p in r["pairs"]]


def emulated_and_keras(cfg, build):
    """A trained family's test background through the emulator and through the QKeras model: (words, emulator,
    (mu, score, bits), (QKeras mu, QKeras score))."""
    from emulator import Emulator
    from trigger.data.dataset import load_background
    from trigger.model.families import keras_score_type
    from trigger.model.train import load_model, load_scaling
    from trigger.physics.scoring import software_scores

    words = load_background(cfg, "test").words
    emu = Emulator.load(build)
    x = load_scaling(build).apply(words).astype(np.float32)
    return words, emu, emu.run(words), software_scores(load_model(build), x, cfg.model.mu.type, keras_score_type(cfg, build))
