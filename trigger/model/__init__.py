"""Stage 2: the quantization-aware VAE, its input scaling, and the encoder-only score."""
