"""The support check's parts: numbers and units, sentences, key entities, its data files."""

from __future__ import annotations

import pytest

from assistant.support import (
    SUPPORT_PATH,
    addresses,
    drug_mentions,
    key_entities,
    load_config,
    negations,
    numbers,
    split_sentences,
)
from core.errors import ConfigError


def test_numbers_carry_normalised_units():
    assert numbers("Baclofen 5 mg three times a day, at most 100 milligrams daily") == {
        ("5", "mg"), ("3", "time"), ("100", "mg")}
    assert numbers("tapered over 1 to 2 weeks") == {("1", "week"), ("2", "week")}
    assert numbers("about 10% of people; 1.0 g") == {("10", "percent"), ("1", "g")}
    # Identifiers are not numbers; number words count only before a unit.
    assert numbers("NICE NG59 and one first-line drug") == frozenset()


def test_sentences_of_a_passage():
    text = "## Dosing\n- Baclofen is started low, e.g. 5 mg. It is raised slowly.\n| Drug | Max |\n|---|---|\n| Baclofen | 100 mg |"
    assert split_sentences(text) == ["Baclofen is started low, e.g. 5 mg.", "It is raised slowly.", "Drug Max",
                                     "Baclofen 100 mg"]


def test_drug_names_are_canonical():
    found = dict(drug_mentions("Lyrica, Percocet or Sativex"))
    assert found["Lyrica"] == {"pregabalin"}
    assert found["Percocet"] == {"oxycodone", "acetaminophen"}  # from support_drugs.yaml
    assert found["Sativex"] == {"nabiximols"}


def test_negation_cues_are_counted():
    assert negations("Scans are not usually not needed") == 2
    assert negations("Scans are not usually needed") == 1
    assert negations("Avoid NSAIDs in kidney disease") == 1


def test_key_entities_of_a_question():
    assert key_entities("max tizanidine dose?") == {"tizanidine"}
    assert key_entities("Max dose? (context: dose and titration, tizanidine, multiple sclerosis)") == {"tizanidine"}
    assert "imaging" in key_entities("Does he need imaging? (context: back pain)")


def test_a_class_answers_for_its_drug_but_a_sibling_does_not():
    assert addresses("max oxycodone dose?", ["Opioids are reserved for severe, disabling pain."])
    assert not addresses("max tizanidine dose?", ["The usual maximum dose of baclofen is 100 mg per day."])
    assert addresses("are NSAIDs safe in kidney disease?", ["Ibuprofen should be avoided in kidney disease."])
    assert not addresses("max tizanidine dose?", [])


def test_bad_threshold_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "support.yaml"
    bad.write_text(SUPPORT_PATH.read_text().replace("min_similarity: 0.8", "min_similarity: high"))
    with pytest.raises(ConfigError, match="min_similarity must be a number"):
        load_config(bad)
    bad.write_text(SUPPORT_PATH.read_text().replace("min_similarity: 0.8", "min_similarity: 3"))
    with pytest.raises(ConfigError, match=r"cosine in \[-1, 1\]"):
        load_config(bad)
