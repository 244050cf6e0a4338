"""Progress bars and stage timing for long work (rich), quiet when not wanted."""

from __future__ import annotations

import contextlib
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

console = Console(stderr=True)


class RateColumn(ProgressColumn):
    """Items per second (events/s for event loops)."""

    def __init__(self, unit: str = "ev"):
        super().__init__()
        self.unit = unit

    def render(self, task) -> Text:
        return Text(f"{task.speed:,.0f} {self.unit}/s" if task.speed else f"- {self.unit}/s", style="magenta")


@contextlib.contextmanager
def bar(description: str, total: int, enabled: bool = True, unit: str = "ev"):
    """Yield an `advance(n)` callable; the bar shows the rate in `unit`s per second."""
    if not enabled:
        yield lambda n=1: None
        return
    cols = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(unit), TimeElapsedColumn(), TimeRemainingColumn()]
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
