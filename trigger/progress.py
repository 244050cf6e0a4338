"""Progress bars and stage timing for long work (rich), quiet when not wanted."""

from __future__ import annotations

import contextlib
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=True)


@contextlib.contextmanager
def bar(description: str, total: int, enabled: bool = True):
    """Yield an `advance(n)` callable."""
    if not enabled:
        yield lambda n=1: None
        return
    cols = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*cols, console=console, transient=False) as p:
        task = p.add_task(description, total=total)
        yield lambda n=1: p.advance(task, n)


@contextlib.contextmanager
def stage(name: str, timings: dict | None = None):
    console.print(f"[bold cyan]==> {name}[/]")
    t0 = time.perf_counter()
    yield
    dt = time.perf_counter() - t0
    if timings is not None:
        timings[name] = round(dt, 3)
    console.print(f"[green]    {name} done in {dt:.1f} s[/]")
