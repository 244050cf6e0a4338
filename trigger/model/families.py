"""The model families (`model.family`): what each one's trigger score is called and typed."""

from __future__ import annotations

from trigger.config import Config
from trigger.design.fixed import FixedType

# the trigger's own score in physics.json, per family
PRIMARY = {"vae_kl": "encoder_mu2", "ae_reco": "ae_reco_firmware"}
SCORE_LABEL = {"vae_kl": "sum(mu^2)", "ae_reco": "sum w (reco - x)^2"}


def score_type(cfg: Config) -> FixedType:
    """The type of the trigger's score: sum(mu^2) exact (vae_kl), the weighted reconstruction error exact (ae_reco)."""
    if cfg.model.family == "ae_reco":
        from trigger.model import ae_reco

        return ae_reco.score_type(cfg)
    return cfg.model.score_type


def keras_score_type(cfg: Config) -> FixedType | None:
    """None where the trigger's score is computed from mu's integers (vae_kl: its float32 score output could
    round), else the type of the model's own score output (physics.scoring.software_scores)."""
    return None if cfg.model.family == "vae_kl" else score_type(cfg)
