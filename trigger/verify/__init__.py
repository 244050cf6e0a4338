"""Checking implementations against each other: event sources, compare, the Verilog harness, emulate."""
