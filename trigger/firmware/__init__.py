"""Stage 3: firmware generation (hls4ml HLS project, da4ml Verilog, resources)."""
