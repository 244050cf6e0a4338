"""Exports of a design to other software."""
