import subprocess
import sys
import time

import pytest
import yaml

from trigger.config import DEFAULT_CONFIG, ConfigError, load_config


def _write(tmp_path, mutate):
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    mutate(raw)
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(raw))
    return p


def test_default_config_loads():
    cfg = load_config()
    assert cfg.firmware.clock_mhz == 240
    assert cfg.firmware.max_latency_cycles == 12
    assert cfg.model.score_type.signed is False


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda r: r["model"].update(hiddn=[3]), "model.hiddn: unknown key"),
        (lambda r: r["model"]["weight"].update(width=-3), "model.weight.width"),
        (lambda r: r["firmware"].update(latency_budget_ns=2.0), "shorter than one clock period"),
        (lambda r: r["training"].update(epochs="many"), "training.epochs"),
        (lambda r: r["data"]["background"]["W"].update(fraction=0.9), "fractions must sum to 1"),
        (lambda r: r["firmware"].update(clock_mhz=250), "multiple of the 40 MHz"),
        (lambda r: r["data"]["background"]["W"].update(lepton_filter=False), "always on for background"),
        (lambda r: r["training"]["reco_field_weights"].update(pt=-1), "training.reco_field_weights.pt"),
        (lambda r: r["training"]["reco_field_weights"].update(pT=3), "training.reco_field_weights.pT: unknown key"),
        (lambda r: r["training"].update(reco_field_weights={"pt": 0, "eta": 0, "phi": 0}), "at least one of pt, eta, phi"),
    ],
)
def test_bad_config_names_the_key(tmp_path, mutate, expected):
    with pytest.raises(ConfigError) as exc:
        load_config(_write(tmp_path, mutate))
    assert expected in str(exc.value)


def test_misspelled_key_fails_fast_from_cli(tmp_path):
    bad = _write(tmp_path, lambda r: r["training"].update(epoch=3))
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "trigger.cli", "train", "--config", str(bad), "--build", str(tmp_path / "b")],
                         capture_output=True, text=True)
    assert time.perf_counter() - t0 < 5, "a misspelled key must stop the run within 5 s"
    assert res.returncode == 2
    assert "training.epoch: unknown key" in res.stderr
    assert not (tmp_path / "b" / "model").exists()


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
