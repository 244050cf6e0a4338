"""The seam as code: what the firmware side and the emulator may import, and how long a module may grow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The layout's contract: the design package is the seam; firmware, emulator, verify and export read the design
# and import neither the model side (training, Keras/QKeras) nor anything downstream of them; nothing imports
# upward (the flow, the physics evaluation and the reports sit on top).
MODEL_SIDE = ("trigger.model", "trigger.physics.evaluate", "trigger.physics.plots", "tensorflow", "qkeras")  # physics.scoring: statistics only
UPWARD = ("trigger.flow", "trigger.report", "trigger.cli")
FORBIDDEN = {
    "trigger/design": ("emulator", "trigger.firmware", "trigger.verify", "trigger.export", "cocotb_tests", *MODEL_SIDE, *UPWARD),
    "trigger/firmware": ("emulator", "trigger.verify", "trigger.export", "cocotb_tests", *MODEL_SIDE, *UPWARD),
    "trigger/export": ("emulator", "trigger.verify", "cocotb_tests", *MODEL_SIDE, *UPWARD),
    "emulator": ("trigger.firmware", "trigger.verify", "trigger.export", "cocotb_tests", *MODEL_SIDE, *UPWARD),
    "trigger/verify": ("trigger.export", *MODEL_SIDE, *UPWARD),
    "cocotb_tests": ("trigger.export", *MODEL_SIDE, *UPWARD),
    "trigger/data": ("emulator", "trigger.firmware", "trigger.verify", "trigger.export", "cocotb_tests", *MODEL_SIDE, *UPWARD),
}
# Known exceptions, each with the reason.
ALLOWED = {
    ("trigger/firmware/hls.py", "tensorflow"): "format-1 projects go through hls4ml's Keras converter (a float Keras model of the design)",
    ("trigger/verify/compare.py", "trigger.model"): "compare's QKeras leg loads the trained model (model side) where the build has one",
}
MAX_LINES = 400
MAX_FUNCTION = 60
FOLDERS = ("trigger", "emulator", "cocotb_tests", "bench")


def imports(path: Path) -> set[str]:
    """Every module a file imports (at any depth: function-level imports count too)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for f in sorted((ROOT / folder).rglob("*.py")):
        rel = f.relative_to(ROOT).as_posix()
        for mod in imports(f):
            for fb in forbidden:
                if (mod == fb or mod.startswith(fb + ".")) and (rel, fb) not in ALLOWED:
                    bad.append(f"{rel} imports {mod}")
    return bad


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_import_contract(folder):
    assert violations(folder, FORBIDDEN[folder]) == []


def test_the_contract_catches_an_import(tmp_path, monkeypatch):
    """A firmware module that imports the emulator is reported."""
    fw = tmp_path / "trigger" / "firmware"
    fw.mkdir(parents=True)
    (fw / "bad.py").write_text("def f():\n    from emulator import Emulator\n    return Emulator\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    assert violations("trigger/firmware", FORBIDDEN["trigger/firmware"]) == ["trigger/firmware/bad.py imports emulator"]


def test_no_module_over_400_lines():
    long = [f"{f.relative_to(ROOT)}: {n} lines" for folder in FOLDERS
            for f in sorted((ROOT / folder).rglob("*.py")) if (n := len(f.read_text().splitlines())) > MAX_LINES]
    assert long == []


def long_functions(path: Path) -> list[str]:
    """Functions over MAX_FUNCTION lines without a `# long: <reason>` comment on the line above their `def`."""
    lines = path.read_text().splitlines()
    out = []
    for node in ast.walk(ast.parse("\n".join(lines), str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            n = node.end_lineno - node.lineno + 1
            above = lines[first - 2].strip() if first >= 2 else ""
            if n > MAX_FUNCTION and not (above.startswith("# long:") and len(above) > len("# long:") + 10):
                out.append(f"{path.name}:{node.lineno} {node.name}: {n} lines")
    return out


def test_no_function_over_60_lines_without_a_reason():
    assert [x for folder in FOLDERS for f in sorted((ROOT / folder).rglob("*.py")) for x in long_functions(f)] == []


def test_the_length_check_catches_a_long_function(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION))
    (tmp_path / "a.py").write_text(f"def f():\n{body}")
    assert long_functions(tmp_path / "a.py") == [f"a.py:1 f: {MAX_FUNCTION + 1} lines"]
    (tmp_path / "a.py").write_text(f"# long: a reason that says why\ndef f():\n{body}")
    assert long_functions(tmp_path / "a.py") == []
