"""Cue file, negation detector and weights: the data files load and mean what they say."""

import dataclasses

import pytest

from assistant.cues import cues, load_cues
from assistant.negation import negated_before, negated_main_clause, strip_negated_clauses
from assistant.weights import WEIGHTS, Weights
from core.errors import ConfigError


def test_every_cue_compiles_and_intents_have_sentence_patterns():
    c = cues()
    assert c.patterns["dose_number"].search("tizanidine up to 36 mg a day")
    assert not c.patterns["dose_number"].search("dose it carefully")
    for name in ("dose", "imaging", "red_flags", "side_effects", "non_drug"):
        assert name in c.intent_sentence
    assert "the" in c.stop_words


def test_a_bad_cue_file_is_a_clear_error(tmp_path):
    p = tmp_path / "cues.yaml"
    p.write_text("patterns:\n  broken:\n    regex: '(unclosed'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="patterns.broken"):
        load_cues(p)


def test_one_negation_detector_three_readings():
    text = "Denies saddle anaesthesia, no fever"
    assert negated_before(text, text.index("saddle"))
    assert negated_before(text, text.index("fever"))
    assert not negated_before("No fever but new saddle numbness", 22)
    assert negated_main_clause("Imaging is not recommended for acute back pain.")
    assert not negated_main_clause("Refer when pain does not respond to first-line drugs.")
    assert "fever" not in strip_negated_clauses("back pain, no fever")


def test_a_negation_reaches_the_items_of_its_list_not_the_next_clause():
    listed = "No fever, chills or weight loss"
    assert negated_before(listed, listed.index("weight loss"))
    for text, word in [("Different pt - no MS, 8 months of axial back pain", "back pain"),
                       ("no sciatica, did PT and NSAIDs", "NSAIDs")]:
        assert negated_before(text, text.index(word.split()[0])) is False, text


def test_a_negated_condition_is_not_what_the_question_is_about():
    from assistant.vocab import vocabulary

    ids = vocabulary().concept_ids("Different pt - no MS, 8 months of axial LBP. Is duloxetine ok?",
                                   with_classes=False, affirmed=True)
    assert "ms" not in ids and {"back_pain", "duloxetine"} <= ids


def test_weights_are_frozen_and_documented():
    with pytest.raises(dataclasses.FrozenInstanceError):
        WEIGHTS.lexical = 1.0  # type: ignore[misc]
    assert WEIGHTS.lexical + WEIGHTS.concept + WEIGHTS.heading == pytest.approx(1.0)
    assert all(isinstance(getattr(WEIGHTS, f.name), (int, float)) for f in dataclasses.fields(Weights))
