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


@contextmanager
def ingest_progress(console=None):
    """Yields ``progress(stage, done, total)`` for ``run_ingest``."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
               TextColumn("ETA"), TimeRemainingColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(LABELS.get(stage, stage), total=max(total, 1),
                                            unit=UNITS.get(stage, ""))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        yield progress
