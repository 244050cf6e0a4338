"""The model families (`model.family`): what each one's trigger score is called and typed."""

from __future__ import annotations

from trigger.config import Config
from trigger.design.fixed import FixedType

# the trigger's own score in physics.json, per family
PRIMARY = {"vae_kl": "encoder_mu2", "ae_reco": "ae_reco_firmware", "embed_ae": "embed_ae_firmware", "or": "or_firmware"}
SCORE_LABEL = {"vae_kl": "sum(mu^2)", "ae_reco": "sum w (reco - x)^2", "embed_ae": "sum (AE(h) - h)^2",
               "or": "max(part, c x other part)"}
DESCRIPTION = {
    "vae_kl": "encoder-only score sum(mu^2)",
    "ae_reco": "autoencoder score sum w (reco - x)^2 over all 57 inputs, decoder in firmware; an empty object slot "
               "counts like any input: the scaled zero word is its target",
    "embed_ae": "embedding (VICReg) + autoencoder on it, score sum (AE(h) - h)^2, all in firmware",
    "or": "two families trained side by side, ORed in firmware: max(one score, c x the other), c sharing the rate",
}


def part_config(cfg: Config, family: str) -> Config:
    """The configuration of one part of the `or` family: everything as cfg, the family that part's."""
    return cfg.model_copy(update={"model": cfg.model.model_copy(update={"family": family})})


def training_config(cfg: Config) -> Config:
    """The configuration the training samples and baselines are prepared with: the first part's for `or`."""
    return part_config(cfg, cfg.model.or_family.parts[0]) if cfg.model.family == "or" else cfg


def mask_padding(cfg: Config) -> bool:
    """Whether the reconstruction term leaves empty slots out: vae_kl's setting; the graph families train on their
    firmware score, over every input."""
    return cfg.training.mask_padding and cfg.model.family == "vae_kl"


def module(cfg: Config):
    """The graph family's module (design_nodes, MU, score_type)."""
    from trigger.model import ae_reco, embed_ae

    return {"ae_reco": ae_reco, "embed_ae": embed_ae}[cfg.model.family]


def score_type(cfg: Config, build=None) -> FixedType:
    """The type of the trigger's score: sum(mu^2) exact (vae_kl), the graph family's exact score otherwise; the or
    family's is chosen in training with the scale: it needs the build."""
    if cfg.model.family == "or":
        from trigger.model.or_family import score_type as or_type

        if build is None:
            raise ValueError("the or family's score type is chosen in training: pass the build")
        return or_type(build)
    if cfg.model.family != "vae_kl":
        return module(cfg).score_type(cfg)
    return cfg.model.score_type


def keras_score_type(cfg: Config, build=None) -> FixedType | None:
    """None where the trigger's score is computed from mu's integers (vae_kl: its float32 score output could
    round), else the type of the model's own score output (physics.scoring.software_scores)."""
    return None if cfg.model.family == "vae_kl" else score_type(cfg, build)
