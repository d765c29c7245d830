"""The blind rounds, once their first try is recorded (docs/safety.md), join the suite: after
tuning, each must keep 100 % red-flag recall and at most 5 % false alarms. (Their first-try
figures are the measure of generalisation; this test only guards against regressions.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from safety_helpers import policy  # noqa: F401

from evals.safety_round import load_round, score, summarise

ROUNDS = sorted((Path(__file__).parent / "blind").glob("round*.yaml"))


def test_rounds_are_present():
    assert len(ROUNDS) >= 4


@pytest.mark.parametrize("path", ROUNDS, ids=[p.stem for p in ROUNDS])
def test_blind_round_after_tuning(path, policy):
    s = summarise(score(load_round(path), policy))
    assert s["recall"] == 1.0, f"missed: {s['misses']}"
    assert s["false_alarm_rate"] <= 0.05, f"false alarms: {s['false_alarms']}"
