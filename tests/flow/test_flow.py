"""The tiny model through every stage: the four implementations must agree bit for bit."""

import json

import numpy as np
import pytest

from emulator import Emulator
from trigger.verify.compare import compare
from trigger.verify.edge_words import edge_cases
from trigger.firmware.hls import CSim


def test_all_implementations_bit_exact(tiny):
    cfg, build, _ = tiny
    r = compare(cfg, build, rtl_events=50_000)
    assert r["events"] > 1000
    for p in r["pairs"]:
        assert p["mismatches"] == 0, p["pair"]
        assert p["exact_fraction_all"] == 1.0
    assert r["emulator_vs_verilog_large"]["events"] == 50_000 and r["emulator_vs_verilog_large"]["mismatches"] == 0
    for name, pairs in r["edge_cases"].items():
        assert all(p["mismatches"] == 0 for p in pairs), name
    assert r["all_exact"]
    assert (build / "reports" / "bit_accuracy.md").read_text().startswith("# Bit-accuracy report")


def test_edge_cases_really_saturate(tiny):
    _, build, _ = tiny
    emu = Emulator.load(build)
    x = emu.scaled_input(edge_cases(emu)["all_max"])
    assert (x == emu.input_type.int_max).any(), "field maxima must drive the input quantizer into saturation"
    mu = emu.mu(edge_cases(emu)["saturating_drive"])
    mu_t = emu.mu_type
    assert ((mu == mu_t.int_max) | (mu == mu_t.int_min)).any()


def test_comparison_detects_a_wrong_threshold(tiny):
    """The comparison must be able to fail: a threshold off by one LSB changes some trigger bits."""
    _, build, _ = tiny
    import dataclasses

    from trigger.design import load_design

    design = load_design(build / "design.yaml")
    emu = Emulator(design)
    rng = np.random.default_rng(1)
    words = rng.integers(emu.word_min, emu.word_max + 1, size=(20000, emu.n_inputs))
    _, score, bits = emu.run(words)
    t0 = dataclasses.replace(design.thresholds[0], raw=int(np.sort(score)[len(score) // 2]))  # a score some event has
    off = Emulator(dataclasses.replace(design, thresholds=[t0]))
    off1 = Emulator(dataclasses.replace(design, thresholds=[dataclasses.replace(t0, raw=t0.raw + 1)]))
    assert not np.array_equal(off.trigger(words), off1.trigger(words))


def test_thresholds_match_target_rates(tiny):
    cfg, build, _ = tiny
    phys = json.loads((build / "reports" / "physics.json").read_text())
    for t in phys["thresholds"]:
        assert t["achieved_fraction"] <= t["target_fraction"] + 1e-12
        assert t["threshold_float"] == t["threshold_int"] * 2.0 ** -cfg.model.score_type.frac
        # on CMSSW's loss grid (evaluation.threshold_lsb), so a CMS menu can state the threshold
        assert t["threshold_int"] % cfg.evaluation.threshold_step(cfg.model.score_type.lsb) == 0
    for sig in cfg.data.signals:
        scores = phys["signals"][sig]["scores"]
        assert {"encoder_mu2", "full_kl", "vae_reco", "ae_reco", "axol1tl_v1", "random"} <= set(scores)


def test_training_uses_the_configured_reconstruction_weights(tiny):
    from trigger.model.train import load_reco_term

    cfg, build, _ = tiny
    expected = cfg.training.reco_field_weights.per_input()
    assert len(set(expected.tolist())) == 3, "the tiny config must give pt, eta and phi different weights"
    saved = json.loads((build / "model" / "reco_weights.json").read_text())
    assert saved["field_weights"] == cfg.training.reco_field_weights.model_dump()
    assert cfg.training.reco_pt_quantile is not None and saved["pt_quantile"] == cfg.training.reco_pt_quantile
    term = load_reco_term(build)  # what evaluate's reconstruction baselines use
    assert np.array_equal(term.weights, expected)
    assert np.isfinite(term.ceiling[0::3]).any() and not np.isfinite(term.ceiling[1::3]).any()


def test_csim_rejects_bad_shape(tiny):
    _, build, _ = tiny
    emu = Emulator.load(build)
    cs = CSim(build / "hls", emu.n_inputs, emu.latent, len(emu.thresholds))
    with pytest.raises(ValueError, match="expected"):
        cs.run(np.zeros((3, 5), dtype=np.int64))


def test_firmware_is_deterministic_and_self_contained(tiny, tmp_path):
    import shutil

    from trigger.firmware.build import build_firmware

    cfg, build, first = tiny
    copy = tmp_path / "b2"
    shutil.copytree(build, copy)
    second = build_firmware(cfg, copy, verilator_lint=False)
    assert first["hashes"] == second["hashes"]
    # the HLS project compiles from its own folder alone
    moved = tmp_path / "moved_hls"
    shutil.copytree(copy / "hls", moved)
    for lib in moved.glob("libtrigger_csim*.so"):
        lib.unlink()
    from trigger.firmware.hls import compile_csim

    assert compile_csim(moved).exists()


@pytest.mark.parametrize("yaml_value", ["'12345678'", "abcdef01", "'00001234'"])
def test_stamp_fix_does_not_depend_on_the_random_stamp(tiny, tmp_path, yaml_value):
    """hls4ml's stamp is random and YAML quotes it only when it looks like a number; the fixed file
    must come out the same whatever stamp hls4ml drew (CI once saw hls4ml_config.yml differ)."""
    import re
    import shutil

    from trigger.design import load_design
    from trigger.firmware.hls import fix_stamp

    cfg, build, _ = tiny
    design = load_design(build / "design.yaml")
    hls = tmp_path / "hls"
    shutil.copytree(build / "hls", hls)
    yml = hls / "hls4ml_config.yml"
    fixed = re.search(r"^Stamp: '?([0-9a-f]+)'?$", yml.read_text(), re.M).group(1)
    # put hls4ml's output back as it would have been with this random stamp
    random_stamp = yaml_value.strip("'")
    for path in hls.rglob("*"):
        if path.is_file() and path.suffix in (".yml", ".sh", ".cpp", ".h", ".tcl", ".json"):
            path.write_text(path.read_text().replace(fixed, random_stamp))
    yml.write_text(re.sub(r"^Stamp:.*$", f"Stamp: {yaml_value}", yml.read_text(), flags=re.M))
    fix_stamp(hls, design)
    assert yml.read_bytes() == (build / "hls" / "hls4ml_config.yml").read_bytes()


def test_latency_meets_budget(tiny):
    cfg, build, fw = tiny
    ports = json.loads((build / "rtl" / "ports.json").read_text())
    assert fw["latency_ns"] <= cfg.firmware.latency_budget_ns
    assert ports["latency_cycles"] == fw["latency_cycles"]
    assert fw["verilator_lint"]["passed"]


def test_unsupported_layer_is_named(tiny):
    import tensorflow as tf

    from trigger.design import ConversionError
    from trigger.model.to_design import check_supported

    inp = tf.keras.Input(shape=(57,))
    x = tf.keras.layers.BatchNormalization(name="bn_float")(inp)
    with pytest.raises(ConversionError, match="'bn_float'.*BatchNormalization"):
        check_supported(tf.keras.Model(inp, x))


def test_emulator_rejects_out_of_range_words(tiny):
    _, build, _ = tiny
    emu = Emulator.load(build)
    w = np.zeros((2, emu.n_inputs), dtype=np.int64)
    w[1, 0] = emu.word_max[0] + 1
    from emulator import EmulatorError

    with pytest.raises(EmulatorError, match="met0_pt of event 1 .* does not fit ap_uint"):
        emu.run(w)


def test_emulate_file_vectors_and_dump(tiny, tmp_path):
    import h5py

    from trigger.verify.bits import dump_event, read_vectors, write_vectors
    from trigger.verify.ports import pack, unpack
    from trigger.data.dataset import process_file
    from trigger.verify.emulate import emulate_file

    cfg, build, _ = tiny
    src = process_file(cfg.data, "sigA")
    from emulator import Emulator
    from trigger.data.words import read_words

    # two-event chunks: the streamed output equals one emulator call on the whole file
    n = emulate_file(build, src, tmp_path / "out.h5", cfg.units, chunk=2)
    words = read_words(src, cfg.units, 57)[0].astype(np.int64)
    mu, score, bits = Emulator.load(build).run(words)
    assert n == len(words) > 2
    with h5py.File(tmp_path / "out.h5") as f:
        assert np.array_equal(f["words"][:], words)
        assert np.array_equal(f["mu"][:], mu)
        assert np.array_equal(f["score"][:], score)
        assert np.array_equal(f["trigger_bits"][:], bits)
    write_vectors(build, words[:20], (mu[:20], score[:20], bits[:20]), tmp_path / "v.txt")
    w2, o2 = read_vectors(tmp_path / "v.txt")
    assert np.array_equal(w2, words[:20])
    assert np.array_equal(o2[:, -len(emu_rates(build)):], bits[:20])
    ports = json.loads((build / "rtl" / "ports.json").read_text())
    fields = ports["words"]["fields"]
    assert unpack(pack(words[3], fields), fields) == words[3].tolist()
    text = dump_event(build, words[3], (mu[3], score[3], bits[3]))
    assert "met0_pt" in text and "0b" in text and "score" in text


def emu_rates(build):
    return Emulator.load(build).threshold_names


def test_edge_cases_sit_at_every_threshold(tiny):
    from trigger.verify.compare import load_events
    from trigger.verify.edge_words import threshold_edges

    cfg, build, _ = tiny
    emu = Emulator.load(build)
    pool = load_events(cfg, None, None, emu, True)[0]
    cases = edge_cases(emu, pool=pool)
    scores = set(emu.run(cases["threshold_edges"])[1].tolist())
    _, reached = threshold_edges(emu, pool)
    # T-1, T, T+1 need not be scores any event has (thresholds sit on CMSSW's grid; a sum of squares cannot take
    # every value): the report names those reached; the events on both sides of each decision are always there
    assert len(reached) == 3 * len(emu.thresholds)
    everything = np.concatenate([pool] + [w for k, w in cases.items() if k != "threshold_edges"])  # what edge_cases searched
    pool_scores, all_scores = emu.run(pool)[1], emu.run(everything)[1]
    for t in emu.thresholds:
        for d in (-1, 0, 1):
            assert (int(t + d) in scores) == any(int(t + d) == s for s in pool_scores.tolist())
        assert int(all_scores[all_scores < t].max()) in scores and int(all_scores[all_scores >= t].min()) in scores
    assert max(emu.run(everything)[1]) in scores  # the highest score any of these events reaches is among them
