"""Policy 2026.12.21: a progressive-deficit complaint explained by a drug's effect
(``categories.progressive_neuro_deficit.explained_by``): drowsiness said with the weakness, or
the dose taken back for it, with a sedating drug named in the conversation. Each with near
misses written for this file: no drug named, or a deficit said apart from the effect."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401


EXACT = [
    ("drowsy_on_baclofen", ["MS spasticity, started baclofen 10 mg tds last month.",
                            "She's so sleepy all day and her legs give way when she stands. Reduce it?"], []),
    ("dose_taken_back", "Tried tizanidine up to 8 mg tds - legs went like jelly, back down to 4 mg tds, fine now. Back ache.", []),
    ("wants_to_come_off", ["On pregabalin 150 bd for leg pain.", "Her legs feel weak and she wants to come off it. Can she stop?"], []),
    ("drowsy_no_drug", "Back pain for a week; since yesterday she is drowsy and her legs give way when she stands.", ["progressive_neuro_deficit"]),
    ("deficit_apart_from_effect", ["On baclofen 20 mg tds, a bit sleepy.",
                                   "Since Monday her right foot drags and she can no longer lift her toes."], ["progressive_neuro_deficit"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected


def test_explained_by_must_name_known_findings(tmp_path):
    from assistant.safety.policy import DEFAULT_POLICY_PATH, load_policy
    from core.errors import ConfigError

    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8").replace(
        "explained_by: {effects: [sedation, drug_attribution]", "explained_by: {effects: [sedaton, drug_attribution]")
    bad = tmp_path / "policy.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="explained_by.effects names unknown findings"):
        load_policy(bad)
