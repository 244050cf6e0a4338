"""`python -m bench.flow_time --out RESULT.json`: the README's first command timed where it matters, in a fresh
clone: `git clone` of this repository's HEAD into a temporary folder, then `time make firmware` there (set-up
included), nothing else assumed. Records the wall time, the set-up's own time and every stage's seconds from the
clone's `build/reports/timing.json` (yosys runs in the background, so the stages do not add up to the wall time).

  python -m bench.flow_time --out bench/results/flow_time.json --label "session 12"
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def parse_run(clone: Path, log: str, wall_s: float) -> dict:
    """The measurement of one `make firmware` in `clone`, from its log and its build."""
    setup = re.search(r"==> setup done in (\d+) s", log)
    timing = json.loads((clone / "build" / "reports" / "timing.json").read_text())
    summary = json.loads((clone / "build" / "reports" / "summary.json").read_text())
    return {
        "wall_seconds": round(wall_s, 1),
        "setup_seconds": int(setup.group(1)) if setup else None,
        "stage_seconds": timing,
        "cpus": os.cpu_count(),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip(),
        "all_exact": summary.get("bit_accuracy", {}).get("all_exact"),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--label", default="")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="flow_time_") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        t = time.perf_counter()
        res = subprocess.run(["make", "firmware"], cwd=clone, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if res.returncode != 0:
            raise SystemExit(f"make firmware failed in the clone ({res.returncode}):\n{(res.stdout + res.stderr)[-3000:]}")
        result = {"label": args.label, "command": "git clone; make firmware", **parse_run(clone, res.stdout + res.stderr, wall)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
