"""Scope and selection fixes made after answer round 11 (each with a near miss): drugs the
drug library misses (from the reviewed supplement), a child by age, implanted devices, a drug
named only in a leading context clause, negated pain mechanisms, a drug first-line for another
mechanism, and the first-line drugs' own sections for a request to choose or titrate a drug."""

from __future__ import annotations

from assistant.compose import assess_relevance, compose
from assistant.compose.expand import expand_hits
from assistant.compose.score import other_mechanism_drug
from assistant.drugs import drugs_named
from assistant.vocab import vocabulary
from tests.test_compose import ALL, MS_TITLE, chunk, hits_of

NEURO_DOC = "Neuropathic pain in multiple sclerosis"
CHOOSING = chunk("ms-neuropathic-pain", NEURO_DOC, "Choosing an initial drug",
                 "The choice of initial drug should take account of sleep, mood and bladder function.")
TCA = chunk("ms-neuropathic-pain", NEURO_DOC, "Tricyclic antidepressants",
            "Amitriptyline is usually started at 10 mg at night and increased gradually.")
CAUTIONS = chunk("ms-neuropathic-pain", NEURO_DOC, "Tricyclic antidepressants > Cautions",
                 "Tricyclic antidepressants can cause dry mouth and constipation.")
GABA = chunk("ms-neuropathic-pain", NEURO_DOC, "Gabapentin and pregabalin",
             "Gabapentin can be started at 300 mg once daily.")


def test_the_reviewed_supplement_adds_drugs_the_library_misses_but_not_classes():
    assert [d.generic for d in drugs_named("Is the Qutenza patch worth trying?")] == ["capsaicin"]
    assert [d.generic for d in drugs_named("Are steroids or gabapentinoids any use?")] == []


def test_a_drug_no_passage_or_library_name_covers_is_not_covered():
    q = "Is the capsaicin 8% patch worth trying for her burning feet?"
    rel = assess_relevance(q, hits_of(ALL), request=q)
    assert not rel.in_scope and "capsaicin" in rel.missing
    q = "Is amitriptyline worth trying for her burning feet?"
    assert assess_relevance(q, hits_of(ALL), request=q).in_scope


def test_a_child_by_age_is_a_population_the_passages_must_cover():
    q = "12-year-old with back pain from a heavy school bag - which painkiller?"
    assert "children" in assess_relevance(q, hits_of(ALL), request=q).missing
    q = "42-year-old with back pain after lifting her children - which painkiller?"
    assert assess_relevance(q, hits_of(ALL), request=q).in_scope


def test_an_implanted_device_no_passage_names_is_not_covered():
    q = "Spinal cord stimulator for failed back surgery - who should be referred?"
    assert "stimulator" in assess_relevance(q, hits_of(ALL), request=q).missing


def test_a_drug_in_a_leading_context_clause_is_not_what_is_asked():
    hits = hits_of(ALL)
    q = "Since methylprednisolone did nothing for her, can I give her baclofen for the spasms?"
    assert assess_relevance(q, hits, request=q).in_scope
    q = "Can I give her methylprednisolone since baclofen did nothing for the spasms?"
    assert "methylprednisolone" in assess_relevance(q, hits, request=q).missing


def test_a_negated_pain_mechanism_is_not_what_the_turn_is_about():
    v = vocabulary()
    assert "spasticity" not in v.concept_ids("Tone normal. No spasticity, no spasms.", affirmed=True)
    assert "spasticity" in v.concept_ids("Tone increased, spasticity in both legs.", affirmed=True)


def test_a_drug_first_line_only_for_another_mechanism_answers_another_question():
    neuro = frozenset({"neuropathic"})
    assert other_mechanism_drug("Tizanidine is usually started at 2 mg.", neuro)
    assert not other_mechanism_drug("Gabapentin can be started at 300 mg once daily.", neuro)
    assert not other_mechanism_drug("Amitriptyline and baclofen can be combined.", neuro)
    # No first-line list for radicular pain: nothing is judged.
    assert not other_mechanism_drug("Tizanidine is usually started at 2 mg.", frozenset({"radicular"}))


def test_a_request_to_choose_and_titrate_adds_the_first_line_drugs_sections():
    corpus = [CHOOSING, TCA, CAUTIONS, GABA]
    q = "Burning, tingling pain in both feet at night. Which drug would you start and how would you titrate it?"
    added = {h.chunk.section.rsplit(" > ", 1)[-1] for h in expand_hits(q, hits_of([CHOOSING]), corpus)}
    assert {"Tricyclic antidepressants", "Gabapentin and pregabalin"} <= added
    assert "Cautions" not in added  # a drug's own section before its sub-sections
    q = "Burning, tingling pain in both feet at night. What causes it?"
    assert "Tricyclic antidepressants" not in {h.chunk.section.rsplit(" > ", 1)[-1]
                                               for h in expand_hits(q, hits_of([CHOOSING]), corpus)}


def test_the_titration_answer_for_burning_feet_is_about_its_own_drugs():
    tiz = chunk("ms-spasticity", "Spasticity", "Second-line drugs > Tizanidine",
                "Tizanidine is usually started at 2 mg and increased in 2 mg steps.")
    q = "Burning, tingling pain in both feet at night. Which drug would you start and how would you titrate it?"
    ans = compose(q, hits_of([CHOOSING, tiz, TCA]))
    lead = " ".join(s.text for s in ans.sections[0].sentences)
    assert "Tizanidine" not in lead and "mitriptyline" in ans.markdown


def test_a_turn_announcing_another_patient_carries_nothing_over():
    from assistant.condense import condense
    from assistant.records import Turn

    history = [Turn("user", "MS patient with painful spasms at night on tizanidine, next step?"),
               Turn("assistant", "Tizanidine is titrated ...")]
    q = "Different patient entirely - 34-year-old, 10 days of low back pain. Does she need an X-ray?"
    assert condense(q, history) == q
    follow = "Does she need an X-ray for it?"
    assert "context:" in condense(follow, history)


def test_what_to_check_before_raising_a_drug_asks_for_triggers():
    from assistant.request import understand

    assert "triggers" in understand("Anything I should check before I increase it?").intents
    assert "triggers" in understand("What should I look for before putting the baclofen up?").intents
    assert "triggers" not in understand("How quickly can I increase it?").intents
