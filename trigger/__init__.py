"""Anomaly-detection trigger: L1 data -> quantization-aware VAE -> verified firmware."""

__version__ = "0.1.0"
