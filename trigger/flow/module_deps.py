"""Which of the project's source files a stage runs: the modules its entry points import, transitively.

Read from the code (every `import` statement, also those inside functions), not from a hand-kept list: a stage's
key then changes whenever any file it can execute changes, and only then.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the folder holding the trigger package
PACKAGES = ("trigger", "emulator", "cocotb_tests")  # the project's own top-level packages


def module_file(name: str, root: Path = ROOT) -> Path | None:
    """The file of a project module (`a.b` -> a/b.py or a/b/__init__.py), None for anything else."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = root.joinpath(*name.split("."))
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.is_file():
            return p
    return None


def _package(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts if path.name == "__init__.py" else parts[:-1])


@lru_cache(maxsize=None)
def _imports(path: Path, root: Path) -> tuple[str, ...]:
    """Module names one file imports; `from a import b` also names a.b (b may be a submodule)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the file's package
                pkg = _package(path, root).split(".")
                pkg = pkg[: len(pkg) - node.level + 1]
                base = ".".join([*pkg, base] if base else pkg)
            out += [base] + [f"{base}.{a.name}" for a in node.names]
    return tuple(out)


def project_files(entries: tuple[str, ...], root: Path = ROOT) -> list[Path]:
    """Every project file that importing the entry modules can run: the modules, their parent packages'
    __init__.py, and all they import, transitively. Sorted, for a stable hash."""
    if isinstance(entries, str):
        raise TypeError(f"entries must be a tuple of module names, not the string {entries!r}")
    seen: set[Path] = set()
    todo = list(entries)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for k in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
            f = module_file(".".join(parts[:k]), root)
            if f is None or f in seen:
                continue
            seen.add(f)
            todo += list(_imports(f, root))
    missing = [e for e in entries if module_file(e, root) is None]
    if missing:
        raise ValueError(f"no project module named {', '.join(missing)} under {root}")
    return sorted(seen)
