"""The terminal progress display of ``guideline ingest``: one bar per stage, with its rate
(files/s while reading, passages/s while embedding and storing) and time remaining."""

from __future__ import annotations

from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

LABELS = {"load": "Reading guideline files", "reuse": "Reusing stored vectors",
          "embed": "Embedding new passages", "store": "Writing the new version",
          "finalize": "Finishing the new version", "switch": "Switching versions"}
UNITS = {"load": "files", "reuse": "passages", "embed": "passages", "store": "passages"}


class RateColumn(ProgressColumn):
    """'41 passages/s' from rich's own moving average of the task's speed."""

    def render(self, task) -> Text:
        unit = task.fields.get("unit")
        if not unit or task.speed is None:
            return Text("")
        return Text(f"{task.speed:,.1f} {unit}/s" if task.speed < 10 else f"{task.speed:,.0f} {unit}/s",
                    style="progress.data.speed")


class IngestProgress:
    """``progress(stage, done, total)`` for ``run_ingest``, drawing on a rich ``Progress``."""

    def __init__(self, bar: Progress):
        self.bar = bar
        self.tasks: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(LABELS.get(stage, stage), total=max(total, 1),
                                                  unit=UNITS.get(stage, ""))
        self.bar.update(self.tasks[stage], completed=done, total=max(total, 1))

    def task(self, stage: str):
        return self.bar.tasks[self.tasks[stage]]


@contextmanager
def ingest_progress(console=None, get_time=None):
    """Yields an ``IngestProgress`` to pass to ``run_ingest(progress=...)``."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
               TextColumn("ETA"), TimeRemainingColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, get_time=get_time) as bar:
        yield IngestProgress(bar)
