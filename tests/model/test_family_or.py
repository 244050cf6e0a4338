"""The `or` family on the tiny synthetic data: both parts train, the combined design is both parts' graphs with
max(one score, c x the other), the emulator's score equals the combined QKeras model's own score on every test event
and equals the OR by hand from each part's emulated score; each part's score is in the physics report."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic import emulated_and_keras, firmware_is_exact, train_tiny_family


@pytest.fixture(scope="module")
def or_build(tmp_path_factory):
    model = {"family": "or", "or_family": {"parts": ["vae_kl", "ae_reco"], "share": 0.5, "scale_bits": 12}}
    return train_tiny_family(tmp_path_factory.mktemp("or"), model, {"reco_field_weights": {"pt": 4, "eta": 1, "phi": 1}})[:3]


def test_design_is_both_graphs_and_the_maximum(or_build):
    from trigger.design import load_design, save_design
    from trigger.io_utils import read_json
    from trigger.model.families import score_type

    cfg, build, phys = or_build
    d = load_design(build / "design.yaml")
    scale = read_json(build / "model" / "or_scale.json")
    assert d.score_node.op == "maximum" and d.score_type == score_type(cfg, build)
    assert d.exposed.startswith("vae_kl_")
    scaled = d.node("or_scaled")
    assert scaled.inputs[0] == ["vae_kl_score", "ae_reco_score"][scale["scaled"]]
    assert int(scaled.weight[0, 0]) == scale["scale_m"] and 2**11 <= scale["scale_m"] < 2**12  # 12 significant bits
    assert scaled.weight_type.lsb == 2.0 ** -scale["scale_k"]
    t = scale["thresholds"]  # the part with the smaller threshold is scaled up onto the other's
    assert t[scale["scaled"]] <= t[1 - scale["scaled"]] and abs(scale["scale"] * t[scale["scaled"]] / t[1 - scale["scaled"]] - 1) < 2**-11
    assert {n.name for n in d.nodes} >= {"ae_reco_diff", "ae_reco_reco", "vae_kl_score"}
    assert phys["primary"] == "or_firmware"
    assert {"or_vae_kl", "or_ae_reco"} <= set(phys["signals"]["sigA"]["scores"])  # each part reported
    for sig in ("sigA", "sigB"):  # and what each part fires at the trigger's own thresholds: the OR is their union
        for rate, f in phys["or_parts"]["fired"][sig].items():
            eff = 100 * phys["signals"][sig]["scores"]["or_firmware"]["efficiency"][rate]["efficiency"]
            assert f["vae_kl"] + f["ae_reco"] - f["both"] == pytest.approx(eff, abs=1e-9)
    save_design(d, build / "again.yaml")
    assert load_design(build / "again.yaml").sha256() == d.sha256()


def test_emulator_equals_the_keras_score_and_the_or_by_hand(or_build):
    from trigger.io_utils import read_json

    cfg, build, _ = or_build
    words, emu, (mu, score, bits), (kmu, kscore) = emulated_and_keras(cfg, build)
    assert np.unique(score).size > 100
    assert np.array_equal(mu, kmu) and np.array_equal(score, kscore)
    # by hand: each part's score (the emulator's nodes) brought to the combined score's LSB, the scaled one times
    # c = m / 2^k (exact there: the combined type keeps k more fraction bits than the scaled part's)
    s = read_json(build / "model" / "or_scale.json")
    names = ("vae_kl_score", "ae_reco_score")
    t = emu.nodes(words, list(names))
    f = [emu.design.tensor_type(n).frac for n in names]
    top, j = emu.design.score_type.frac, s["scaled"]
    v = [t[n][:, 0].astype(np.int64) << (top - fr) for n, fr in zip(names, f)]
    v[j] = (t[names[j]][:, 0].astype(np.int64) * s["scale_m"]) << (top - f[j] - s["scale_k"])
    assert np.array_equal(np.maximum(v[0], v[1]), score)
    # every threshold bit fires where either part passes its share of it
    for k, th in enumerate(emu.design.thresholds):
        assert np.array_equal(bits[:, k], (v[0] >= th.raw) | (v[1] >= th.raw))


def test_or_needs_the_same_inputs(or_build):
    """Two designs with different scalings cannot be ORed: the error names the key."""
    import dataclasses

    from trigger.design import DesignError, load_design
    from trigger.design.combine import or_designs

    _, build, _ = or_build
    d = load_design(build / "design.yaml")
    other = dataclasses.replace(d, scaling=dataclasses.replace(d.scaling, shift=d.scaling.shift + 1))
    with pytest.raises(DesignError, match="scaling: parts 'a' and 'b' differ"):
        or_designs([("a", d), ("b", other)], 0, 3, 4, "x", [])
    with pytest.raises(DesignError, match="must be positive"):
        or_designs([("a", d), ("b", d)], 0, 0, 4, "x", [])


@pytest.mark.slow  # the maximum node's firmware is tested on random graphs in make test
def test_firmware_of_the_family_is_exact(or_build):
    firmware_is_exact(*or_build[:2])
