"""`guideline ingest` progress: one bar per stage with its rate (files/s, passages/s) and ETA."""

from __future__ import annotations

import io

from rich.console import Console

from ui.progress import RateColumn, ingest_progress


def test_stages_get_bars_with_rate_and_time_remaining():
    now = [100.0]
    con = Console(file=io.StringIO(), force_terminal=True, width=160)
    with ingest_progress(console=con, get_time=lambda: now[0]) as progress:
        for done in range(4):
            progress("load", done, 3)
            now[0] += 0.5
        progress("embed", 0, 400)
        for done in (100, 200):
            now[0] += 2.0
            progress("embed", done, 400)
        embed, load = progress.task("embed"), progress.task("load")
        assert (embed.completed, embed.total) == (200, 400)
        assert RateColumn().render(embed).plain == "50 passages/s"
        assert RateColumn().render(load).plain == "2.0 files/s"  # one file every half second
        assert embed.time_remaining == 4.0  # 200 passages left at 50/s
