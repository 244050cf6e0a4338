"""The ae_reco family on the tiny synthetic data: training runs, the design (a format-2 graph with the decoder)
round-trips, and the emulator's score equals the QKeras model's own score output (computed in Keras) on every test
event; the firmware is built from it and every implementation, the Verilog included, agrees."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from synthetic import emulated_and_keras, firmware_is_exact, train_tiny_family, write_tiny_dataset


@pytest.fixture(scope="module")
def ae_build(tmp_path_factory):
    return train_tiny_family(tmp_path_factory.mktemp("ae_reco"), {"family": "ae_reco"}, {"reco_field_weights": {"pt": 4, "eta": 1, "phi": 1}})[:3]


def test_design_is_the_graph_with_the_decoder(ae_build):
    from trigger.design import load_design, save_design

    cfg, build, phys = ae_build
    d = load_design(build / "design.yaml")
    assert d.format == "trigger-design/2" and d.exposed == "mu" and d.score_node.name == "score"
    ops = [n.op for n in d.nodes]
    assert ops == ["dense", "relu", "dense", "linear", "dense", "relu", "dense", "linear", "subtract", "square", "dense"]
    assert d.node("reco").size == 57 and d.node("score").weight[:3, 0].tolist() == [4, 1, 1]
    assert phys["primary"] == "ae_reco_firmware" and "encoder_mu2" not in phys["signals"]["sigA"]["scores"]
    save_design(d, build / "again.yaml")
    assert load_design(build / "again.yaml").sha256() == d.sha256()


def test_emulator_equals_the_keras_score(ae_build):
    cfg, build, _ = ae_build
    words, emu, (mu, score, _), (kmu, kscore) = emulated_and_keras(cfg, build)
    assert np.unique(score).size > 100
    assert np.array_equal(mu, kmu)
    assert np.array_equal(score, kscore)
    # the score is the weighted squared error of the decoder's output against the scaled input, by hand:
    t = emu.nodes(words[:200], ["reco", "input"])
    w = cfg.training.reco_field_weights.per_input().astype(np.int64)
    assert np.array_equal(((t["reco"] - t["input"]) ** 2 * w).sum(axis=1), score[:200])


@pytest.mark.slow  # the firmware side of every node kind is tested on hand-written graphs in make test
def test_firmware_of_the_family_is_exact(ae_build):
    firmware_is_exact(*ae_build[:2])


def test_field_weights_must_be_integers(tmp_path):
    from trigger.config import ConfigError, load_config

    path = write_tiny_dataset(tmp_path)
    d = yaml.safe_load(path.read_text())
    d["model"]["family"] = "ae_reco"
    path.write_text(yaml.safe_dump(d, sort_keys=False))  # tiny.yaml's phi weight is 0.5
    with pytest.raises(ConfigError, match=r"reco_field_weights.phi: 0.5; model.family ae_reco"):
        load_config(path)
    d["model"] |= {"family": "or", "or_family": {"parts": ["ae_reco", "vae_kl"]}}  # the or family with an ae_reco part too
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    with pytest.raises(ConfigError, match=r"reco_field_weights.phi: 0.5; model.family ae_reco"):
        load_config(path)


def test_the_family_exports_to_cmssw(ae_build):
    """The graph's score (a signed exact accumulator whose reachable values are >= 0) reaches CMSSW's loss: the plan
    accepts it and states each threshold as loss x 16 of the design's raw threshold."""
    from trigger.design import load_design
    from trigger.export.cmssw import plan

    _, build, _ = ae_build
    d = load_design(build / "design.yaml")
    p = plan(d, "GTADModel_v5")
    assert p.first == "score" and len(p.thresholds) == len(d.thresholds) == 3
    k = d.score_type.frac - 4
    assert [v for _, v in p.thresholds] == [int(t) >> k if k > 0 else int(t) << -k for t in d.threshold_raw()]
