import subprocess
import sys


def test_help_lists_every_subcommand():
    res = subprocess.run([sys.executable, "-m", "trigger.cli", "--help"], capture_output=True, text=True)
    assert res.returncode == 0
    for cmd in ("data", "train", "evaluate", "firmware", "emulate", "compare", "sim", "report", "run"):
        assert cmd in res.stdout, cmd
    for sub in ("firmware", "data"):
        r = subprocess.run([sys.executable, "-m", "trigger.cli", sub, "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and "--" in r.stdout
