"""The model families (`model.family`): what each one's trigger score is called and typed."""

from __future__ import annotations

from trigger.config import Config
from trigger.design.fixed import FixedType

# the trigger's own score in physics.json, per family
PRIMARY = {"vae_kl": "encoder_mu2", "ae_reco": "ae_reco_firmware", "embed_ae": "embed_ae_firmware"}
SCORE_LABEL = {"vae_kl": "sum(mu^2)", "ae_reco": "sum w (reco - x)^2", "embed_ae": "sum (AE(h) - h)^2"}
DESCRIPTION = {
    "vae_kl": "encoder-only score sum(mu^2)",
    "ae_reco": "autoencoder score sum w (reco - x)^2 over all 57 inputs, decoder in firmware; an empty object slot "
               "counts like any input: the scaled zero word is its target",
    "embed_ae": "embedding (VICReg) + autoencoder on it, score sum (AE(h) - h)^2, all in firmware",
}


def mask_padding(cfg: Config) -> bool:
    """Whether the reconstruction term leaves empty slots out: vae_kl's setting; the graph families train on their
    firmware score, over every input."""
    return cfg.training.mask_padding and cfg.model.family == "vae_kl"


def module(cfg: Config):
    """The graph family's module (design_nodes, MU, score_type)."""
    from trigger.model import ae_reco, embed_ae

    return {"ae_reco": ae_reco, "embed_ae": embed_ae}[cfg.model.family]


def score_type(cfg: Config) -> FixedType:
    """The type of the trigger's score: sum(mu^2) exact (vae_kl), the graph family's exact score otherwise."""
    if cfg.model.family != "vae_kl":
        return module(cfg).score_type(cfg)
    return cfg.model.score_type


def keras_score_type(cfg: Config) -> FixedType | None:
    """None where the trigger's score is computed from mu's integers (vae_kl: its float32 score output could
    round), else the type of the model's own score output (physics.scoring.software_scores)."""
    return None if cfg.model.family == "vae_kl" else score_type(cfg)
