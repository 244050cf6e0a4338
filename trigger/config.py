"""Typed, validated configuration. A bad key or value stops the run before any work, naming its path."""

from __future__ import annotations

import hashlib
import json
import math
import os
from importlib import resources
from pathlib import Path
from typing import Literal, Optional

import yaml
from pydantic import Field, PositiveFloat, PositiveInt, ValidationError, field_validator, model_validator

from trigger.config_base import FixedSpec, Strict
from trigger.config_families import EmbedAEConfig, OrConfig
from trigger.design.fixed import FixedType

DEFAULT_CONFIG = Path(str(resources.files("trigger") / "configs" / "default.yaml"))  # package data; configs/default.yaml links to it
BUNCH_CROSSING_MHZ = 40.0


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the key path."""


class ProcessSpec(Strict):
    events: int = Field(ge=0)
    fraction: float | None = Field(default=None, ge=0, le=1)
    settings: list[str] | None = None  # None: a built-in process of this name
    lepton_filter: bool | None = None  # None: on for background, `signal_lepton_filter` for signals


class SplitSpec(Strict):
    train: int = Field(ge=1)
    val: int = Field(ge=1)
    test: int = Field(ge=1)


class DataConfig(Strict):
    dir: str = "data/default"
    seed: int = Field(default=2026, ge=0, lt=900_000)
    chunk_size: PositiveInt = 2000
    background: dict[str, ProcessSpec]
    signals: dict[str, ProcessSpec]
    signal_lepton_filter: bool = True
    split: SplitSpec = SplitSpec(train=5, val=1, test=4)

    def lepton_filter(self, name: str) -> bool:
        if name in self.background:
            return True
        spec = self.signals[name].lepton_filter
        return self.signal_lepton_filter if spec is None else spec

    def processes(self) -> dict[str, ProcessSpec]:
        return {**self.background, **self.signals}

    @model_validator(mode="after")
    def _mix(self):
        fracs = [p.fraction for p in self.background.values()]
        if any(f is None for f in fracs):
            raise ValueError("every background process needs a `fraction` (its share of the mix)")
        if abs(sum(fracs) - 1.0) > 1e-6:
            raise ValueError(f"background fractions must sum to 1, got {sum(fracs):.6f}")
        for name, p in self.background.items():
            if p.lepton_filter is False:
                raise ValueError(f"background.{name}.lepton_filter: the lepton prefilter is always on for background")
        overlap = set(self.background) & set(self.signals)
        if overlap:
            raise ValueError(f"process names used as both background and signal: {sorted(overlap)}")
        return self


class UnitSpec(Strict):
    """One object type's Level-1 word: LSBs in physics units and field widths in bits."""

    pt_lsb: PositiveFloat
    eta_lsb: PositiveFloat
    phi_bins: PositiveInt
    pt_bits: int = Field(ge=1, le=16)
    eta_bits: int = Field(ge=2, le=16)
    phi_bits: int = Field(ge=1, le=16)

    @model_validator(mode="after")
    def _phi_fits(self):
        if self.phi_bins > 2**self.phi_bits:
            raise ValueError(f"phi_bins={self.phi_bins} does not fit in phi_bits={self.phi_bits}")
        return self


class UnitsConfig(Strict):
    met: UnitSpec
    egamma: UnitSpec
    muon: UnitSpec
    jet: UnitSpec


class ScalingConfig(Strict):
    """How the firmware's (word - offset) >> shift is fitted to the training background."""

    # mean: offset = the weighted mean word; zero: no offset, so an empty slot stays exactly 0
    offset: Literal["mean", "zero"] = "mean"
    # the shift is the smallest that fits this quantile of |word - offset| into the input type;
    # larger words saturate (counted and reported)
    cover_quantile: float = Field(default=0.999, gt=0, le=1)


class ModelConfig(Strict):
    # vae_kl: a VAE whose firmware keeps the encoder, score sum(mu^2) (AXOL1TL v1-v4).
    # ae_reco: an autoencoder whose firmware keeps encoder and decoder, score the weighted squared reconstruction
    # error sum_i w_i (reco_i - x_i)^2 with w = training.reco_field_weights (integers) over all 57 inputs.
    # embed_ae: an embedding (VICReg) and an autoencoder on it, score sum (AE(h) - h)^2 (AXOL1TL v5/v6).
    # or: two of those trained side by side, ORed in one design (model.or_family).
    family: Literal["vae_kl", "ae_reco", "embed_ae", "or"] = "vae_kl"
    embed_ae: EmbedAEConfig = EmbedAEConfig()
    or_family: OrConfig = OrConfig()
    hidden: list[PositiveInt] = [32, 16]
    latent: PositiveInt = 3
    scaling: ScalingConfig = ScalingConfig()
    input: FixedSpec
    weight: FixedSpec
    bias: FixedSpec
    activation: FixedSpec
    mu: FixedSpec

    @model_validator(mode="after")
    def _types(self):
        if self.input.rounding != "RND_CONV" or self.input.overflow != "SAT":
            raise ValueError("model.input must use rounding RND_CONV and overflow SAT (QKeras quantized_bits)")
        for name in ("input", "weight", "bias", "mu"):
            if not getattr(self, name).signed:
                raise ValueError(f"model.{name} must be signed")
        if self.activation.signed:
            raise ValueError("model.activation is a ReLU output: it must be unsigned (signed: false)")
        if self.mu.rounding != "RND_CONV" or self.mu.overflow != "SAT":
            raise ValueError("model.mu must use rounding RND_CONV and overflow SAT (QKeras quantized_bits)")
        return self

    @property
    def score_type(self) -> FixedType:
        """sum(mu^2) held exactly: twice mu's fraction bits, integer bits for `latent` squares."""
        mu = self.mu.type
        integer = 2 * (mu.integer - 1) + max(self.latent - 1, 0).bit_length() + 1
        frac = 2 * mu.frac
        return FixedType(integer + frac, integer, signed=False)


class FieldWeights(Strict):
    """Multipliers of the reconstruction error per field kind, the same for all 19 objects."""

    pt: float = Field(default=1.0, ge=0)
    eta: float = Field(default=1.0, ge=0)
    phi: float = Field(default=1.0, ge=0)

    @model_validator(mode="after")
    def _some_weight(self):
        if self.pt == self.eta == self.phi == 0:
            raise ValueError("at least one of pt, eta, phi must have a weight above 0")
        return self

    def per_input(self):
        """(57,) in the layout's (pT, eta, phi) order."""
        import numpy as np

        from trigger.data.layout import N_OBJECTS

        return np.tile(np.array([self.pt, self.eta, self.phi], dtype=np.float32), N_OBJECTS)


class TrainingConfig(Strict):
    epochs: PositiveInt = 30
    batch_size: PositiveInt = 1024
    learning_rate: PositiveFloat = 3e-3
    beta: float = Field(default=0.5, ge=0)
    patience: PositiveInt = 5
    seed: int = Field(default=7, ge=0)
    max_events: int | None = Field(default=None, ge=1)
    # Per-event weights above this multiple of the mean are capped in the training loss only (rates and
    # efficiencies always use the true weights): biased QCD sampling gives a few events huge weights,
    # which would otherwise dominate single batches. null: no cap.
    weight_cap: PositiveFloat | None = 100.0
    # Leave zero-padded slots out of the reconstruction term. False: the decoder must also say which
    # slots are empty, so the latent space has to encode the object multiplicities.
    mask_padding: bool = True
    # How the reconstruction term weighs the 57 inputs. none: plain squared error of the scaled inputs,
    # which the uniform eta/phi fields dominate (their spread is ~6x pT's after the power-of-two shifts);
    # variance: each input's error divided by its variance over present objects in the training data.
    reco_weighting: Literal["none", "variance"] = "none"
    # Then each field kind's error is multiplied by these (after the weighting above). pT errors weighted
    # far above eta/phi (as in ADC2021's loss, pT in GeV against angles in radians) make the latent space
    # encode the objects' energies, where the signals differ, instead of the uniform angles.
    reco_field_weights: FieldWeights = FieldWeights()
    # Cap each pT input's reconstruction target at this quantile of its background values (present
    # objects, weighted). The latent space then spends no range on the hard tail of the background, so
    # an event with a missing object (a lepton-less tau signal) lies as far out as a hard one. null: no cap.
    reco_pt_quantile: float | None = Field(default=None, gt=0, le=1)
    # Magnitude pruning of the kernels that reach the firmware (QKeras dense layers: vae_kl's encoder, ae_reco's
    # encoder and decoder): this fraction of each kernel's weights, the smallest, held at 0, ramped up linearly over
    # prune_ramp epochs from epoch prune_start (early stopping counts from full sparsity). Fewer non-zero weights,
    # fewer adders in the RTL. 0: off (training unchanged).
    prune_sparsity: float = Field(default=0.0, ge=0, lt=1)
    prune_start: int = Field(default=10, ge=0)
    prune_ramp: PositiveInt = 10

    @model_validator(mode="after")
    def _prune_within_epochs(self):
        if self.prune_sparsity > 0 and self.prune_start + self.prune_ramp > self.epochs:
            raise ValueError(f"prune_start + prune_ramp = {self.prune_start + self.prune_ramp} must be at most epochs "
                             f"({self.epochs}): the best model is chosen among fully pruned epochs")
        return self


# LHC: 2544 colliding bunch pairs (a typical 2024 fill) x the 11.245 kHz revolution frequency
COLLIDING_BUNCH_RATE_KHZ = 2544 * 11.245


class EvaluationConfig(Strict):
    # What the background file stands for. prefiltered: lepton-prefiltered crossings, 40 MHz x prefilter_fraction;
    # zero_bias: every colliding bunch crossing (an unfiltered minimum-bias sample such as ADC2021's background),
    # at colliding_bunch_rate_khz.
    stream: Literal["prefiltered", "zero_bias"] = "prefiltered"
    prefilter_fraction: float = Field(default=1e-3, gt=0, le=1)
    colliding_bunch_rate_khz: PositiveFloat = COLLIDING_BUNCH_RATE_KHZ
    # compare's slow legs (QKeras, the HLS C simulation, da4ml's interpreter) run on a seeded uniform sample of this
    # many of the compared events; the emulator and the Verilog see every event
    slow_leg_events: PositiveInt = 200_000
    # thresholds are raised onto this grid of score values: CMSSW's AXOL1TL condition compares its loss
    # (ap_ufixed<18,14>) x 16, so 0.0625 keeps every threshold expressible in a CMS menu (`trigger export cmssw`);
    # null: the score's own LSB
    threshold_lsb: Optional[float] = 0.0625
    # physics.json's `families` section: every family side by side, read from this bench.scan results file
    # (relative to the working directory; null: left out). Only runs on this build's data and rates are shown.
    families_scan: Optional[str] = "bench/results/family_scan.json"

    @field_validator("threshold_lsb")
    @classmethod
    def _power_of_two(cls, v):
        if v is not None and (v <= 0 or math.log2(v) != round(math.log2(v))):
            raise ValueError(f"{v} is not a power of two (e.g. 0.0625 = 2^-4)")
        return v

    def threshold_step(self, score_lsb: float) -> int:
        """The grid in raw score units (at least 1)."""
        return max(1, round((self.threshold_lsb or score_lsb) / score_lsb))

    @property
    def stream_rate_khz(self) -> float:
        if self.stream == "zero_bias":
            return self.colliding_bunch_rate_khz
        return BUNCH_CROSSING_MHZ * 1e3 * self.prefilter_fraction

    @property
    def stream_note(self) -> str:
        if self.stream == "zero_bias":
            return (f"zero bias: every colliding bunch crossing, evaluation.colliding_bunch_rate_khz = "
                    f"{self.colliding_bunch_rate_khz:g} kHz (default 2544 colliding bunches x 11.245 kHz)")
        return "40 MHz bunch crossings x evaluation.prefilter_fraction (lepton-prefiltered crossings)"


class FirmwareConfig(Strict):
    backend: Literal["Vitis", "Vivado"] = "Vitis"
    part: str = "xcvu13p-flga2577-2-e"
    clock_mhz: PositiveFloat = 240.0
    latency_budget_ns: PositiveFloat = 50.0
    rates_khz: list[PositiveFloat] = [1.0, 5.0, 10.0]
    io_type: Literal["io_parallel"] = "io_parallel"
    strategy: Literal["Latency"] = "Latency"
    reuse_factor: Literal[1] = 1
    # da4ml's estimated combinational delay per pipeline stage; null: spread the logic over every
    # clock cycle that the latency budget allows (the most registers, the most timing slack)
    latency_cutoff: PositiveFloat | None = None
    # variable-by-variable products (the squares, a graph's dot and multiply): DSP blocks, or LUTs only; with lut
    # a value times itself is built from adders (trigger/firmware/traced_ops.py: square)
    square_in: Literal["dsp", "lut"] = "dsp"
    # yosys synth_xilinx families for the resource report: xcup UltraScale+, xcu UltraScale, xc7 7-series (Virtex-7)
    synth_families: list[Literal["xcup", "xcu", "xc7"]] = ["xcup"]
    # yosys's LUT mapper: abc9 (synth_xilinx's own) or the classic abc (seconds where abc9 takes hours on
    # one deep combinational stage, e.g. a whole encoder at 40 MHz); each yosys run is stopped after the timeout
    lut_mapper: Literal["abc9", "abc"] = "abc9"
    synth_timeout_s: PositiveFloat = 7200.0
    # the per-stage logic-depth estimate (with the resources): a stage estimated too slow for the clock is an
    # error (exit 1) or a warning in the reports
    depth_check: Literal["error", "warn"] = "error"

    @model_validator(mode="after")
    def _clock(self):
        period = 1e3 / self.clock_mhz
        if self.latency_budget_ns < period:
            raise ValueError(
                f"latency_budget_ns={self.latency_budget_ns} is shorter than one clock period ({period:.3f} ns)"
            )
        ratio = self.clock_mhz / BUNCH_CROSSING_MHZ
        if abs(ratio - round(ratio)) > 1e-9:
            raise ValueError(f"clock_mhz={self.clock_mhz} must be a multiple of the 40 MHz bunch-crossing clock")
        if len(set(self.rates_khz)) != len(self.rates_khz):
            raise ValueError("rates_khz must not repeat a rate")
        return self

    @property
    def clock_period_ns(self) -> float:
        return 1e3 / self.clock_mhz

    @property
    def max_latency_cycles(self) -> int:
        return int(self.latency_budget_ns / self.clock_period_ns + 1e-9)


class Config(Strict):
    data: DataConfig
    units: UnitsConfig
    model: ModelConfig
    training: TrainingConfig = TrainingConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    firmware: FirmwareConfig = FirmwareConfig()

    @model_validator(mode="after")
    def _family(self):
        if self.model.family == "ae_reco" or (self.model.family == "or" and "ae_reco" in self.model.or_family.parts):
            fw = self.training.reco_field_weights
            for k in ("pt", "eta", "phi"):
                v = getattr(fw, k)
                if v != int(v) or v > 511:
                    raise ValueError(f"training.reco_field_weights.{k}: {v}; model.family ae_reco states them in the "
                                     "firmware as constant weights, integers in 0..511")
        fams = set(self.model.or_family.parts) if self.model.family == "or" else {self.model.family}
        if self.training.prune_sparsity > 0 and "embed_ae" in fams:
            raise ValueError("training.prune_sparsity: pruning is built for vae_kl and ae_reco, not embed_ae (set it to 0)")
        return self

    def section_hash(self, *sections: str) -> str:
        """A stable hash of some sections: stages rerun only when what they depend on changed."""
        blob = json.dumps({s: getattr(self, s).model_dump(mode="json") for s in sections}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _describe(err: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for e in err.errors():
        path = ".".join(str(p) for p in e["loc"]) or "<root>"
        if e["type"] == "extra_forbidden":
            lines.append(f"  {path}: unknown key (misspelled?)")
        elif e["type"] == "missing":
            lines.append(f"  {path}: required key is missing")
        else:
            got = e.get("input")
            lines.append(f"  {path}: {e['msg']} (got {got!r})" if not isinstance(got, dict) else f"  {path}: {e['msg']}")
    return "\n".join(lines)


def load_config(path: str | os.PathLike | None = None) -> Config:
    path = Path(path) if path else DEFAULT_CONFIG
    if not path.is_file():
        raise ConfigError(f"configuration file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, str(path))) from None


def save_config(cfg: Config, path: str | os.PathLike) -> None:
    from trigger.io_utils import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
