"""The embed_ae family on the tiny synthetic data: VICReg embedding + autoencoder train, the design (embedding, AE,
squared distance) round-trips, the emulator's score equals the QKeras model's own score on every test event and
every implementation agrees; the augmentations keep every word in its field's range."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic import emulated_and_keras, firmware_is_exact, train_tiny_family, write_tiny_dataset

SMALL = {"family": "embed_ae", "embed_ae": {"embedding": [8], "dim": 4, "hidden": [3], "latent": 2, "embedding_epochs": 2,
                                            "projector": [8, 8]}}


@pytest.fixture(scope="module")
def emb_build(tmp_path_factory):
    return train_tiny_family(tmp_path_factory.mktemp("embed_ae"), SMALL)


def test_design_and_keras_score(emb_build):
    from trigger.design import load_design

    cfg, build, phys, hist = emb_build
    assert len(hist["history"]["embed_ae"]["vicreg"]["loss"]) == 2
    d = load_design(build / "design.yaml")
    assert d.exposed == "ae_mu" and d.node("emb").size == 4 and d.node("ae_reco").size == 4
    assert [n.op for n in d.nodes][-3:] == ["subtract", "square", "dense"] and d.node("diff").inputs == ("ae_reco", "emb")
    assert phys["primary"] == "embed_ae_firmware"
    words, emu, (mu, score, _), (kmu, kscore) = emulated_and_keras(cfg, build)
    assert np.unique(score).size > 20
    assert np.array_equal(mu, kmu) and np.array_equal(score, kscore)
    t = emu.nodes(words[:300], ["ae_reco", "emb"])
    assert np.array_equal(((t["ae_reco"] - t["emb"]) ** 2).sum(axis=1), score[:300])


@pytest.mark.slow  # the firmware side of every node kind is tested on hand-written graphs in make test
def test_firmware_of_the_family_is_exact(emb_build):
    firmware_is_exact(*emb_build[:2])


def test_augmentations_keep_words_in_range(tmp_path):
    from trigger.config import load_config
    from trigger.data.units import field_ranges
    from trigger.model.embed_ae import augment
    from synthetic import synthetic_events
    from trigger.data.units import to_words

    cfg = load_config(write_tiny_dataset(tmp_path))
    cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"family": "embed_ae"})})
    words = to_words(synthetic_events(2000, seed=5), cfg.units)
    a = augment(words, cfg, np.random.default_rng(0))
    lo, hi = field_ranges(cfg.units).T
    assert (a >= lo).all() and (a <= hi).all()
    w3, a3 = words.reshape(-1, 19, 3), a.reshape(-1, 19, 3)
    assert (a3[:, 0, 0] > 0).mean() >= (w3[:, 0, 0] > 0).mean() - 0.01  # MET is never dropped
    empty = w3[:, :, 0] == 0
    empty[:, 0] = False  # MET is always present (its phi turns with the event)
    assert empty.sum() > 1000 and (a3[empty] == w3[empty]).all()  # an empty slot stays empty and unchanged
    kept = (a3[:, 1:, 0] > 0) & (w3[:, 1:, 0] > 0)
    assert 0.8 < kept.sum() / (w3[:, 1:, 0] > 0).sum() < 0.97  # ~10 % of objects dropped
    moved = (a3[:, :, 2] != w3[:, :, 2])[~empty]
    assert moved.mean() > 0.9  # phi rotated (a rotation by zero bins is rare)
