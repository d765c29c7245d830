"""Fixtures for the safety-layer tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def policy():
    from assistant.safety import load_policy
    from assistant.safety.context import get_nlp

    p = load_policy()
    get_nlp(p)  # build the spaCy pipeline once for the session (a few seconds)
    return p
