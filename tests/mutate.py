"""Mutations of a build that compare must catch."""

from __future__ import annotations

import re


def flip_hls_weight(build):
    w = sorted((build / "hls" / "firmware" / "weights").glob("w*.h"))[0]
    text = w.read_text()
    m = re.search(r"[{,]\s*(0\.[0-9]*[1-9][0-9]*)", text)  # the first positive non-zero weight
    w.write_text(text[: m.start(1)] + "-" + text[m.start(1):])
    return "csim"
