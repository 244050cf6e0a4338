"""Fill the real template files in trigger/templates/: `{{NAME}}` placeholders, nothing else."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

# package data (pyproject's package-data): found beside the installed package, in a wheel as in the repository
TEMPLATES = Path(str(resources.files("trigger") / "templates"))
PLACEHOLDER = re.compile(r"\{\{([A-Z_0-9]+)\}\}")


def render(text: str, values: dict, source: str) -> str:
    def sub(m):
        key = m.group(1)
        if key not in values:
            raise KeyError(f"{source}: no value for template placeholder {{{{{key}}}}}")
        return str(values[key])

    return PLACEHOLDER.sub(sub, text)


def render_tree(kind: str, out: Path, values: dict) -> list[Path]:
    """Render every file of trigger/templates/<kind>/ into out/, keeping relative paths."""
    src = TEMPLATES / kind
    if not src.is_dir() or not any(src.iterdir()):
        raise FileNotFoundError(f"template folder {src} is missing or empty: the installation is incomplete")
    written = []
    for path in sorted(src.rglob("*")):
        if path.is_file():
            dest = out / path.relative_to(src)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(render(path.read_text(), values, str(path)))
            written.append(dest)
    return written
