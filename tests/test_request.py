"""What a turn asks: request and vignette, intents, treatment state; and what the composer does
with them (select per intent, stepped care, opioid requests, coverage, pointers, antecedents)."""

from __future__ import annotations

import pytest

from assistant.compose import assess_relevance, compose
from assistant.records import Hit, SafetyVerdict, Turn
from core.errors import ConfigError
from assistant.request import (load_intents, recognise_intents, retrieval_text, split_request,
                               treatment_state, understand)
from tests.test_compose import ALL, MS_TITLE, assert_grounded, chunk, hits_of


def test_the_request_is_the_last_question_and_the_rest_is_vignette():
    text = ("52-year-old woman with relapsing MS, burning pain down both thighs. No fever. "
            "Which drug would you start with and how would you write it up?")
    request, vignette = split_request(text)
    assert request == "Which drug would you start with and how would you write it up?"
    assert vignette.startswith("52-year-old woman") and "No fever." in vignette
    assert split_request("max tizanidine dose?") == ("max tizanidine dose?", "")
    # A case without a question has no request: the whole turn is vignette.
    assert split_request("RRMS on ocrelizumab. LBP for three weeks. No fever.")[0] == ""


def test_intents_are_recognised_from_the_request_in_answer_order():
    assert recognise_intents("which drug would you start with and how would you write it up?") == (
        "first_choice", "how_to_prescribe")
    assert recognise_intents("what's the ceiling on gabapentin?") == ("max_dose",)
    assert recognise_intents("where do people usually go wrong?") == ("pitfalls",)
    assert recognise_intents("what is actually driving the pain?") == ("mechanisms",)
    assert "non_drug" in recognise_intents("what else besides pills?")
    assert "stopping" in recognise_intents("how fast should I wean him off the oxycodone?")
    assert "stopping" in recognise_intents("can I just stop taking it?")
    assert "stopping" not in recognise_intents("should he stop exercising?")
    assert recognise_intents("what is the capital of France?") == ()


def test_a_bad_intent_catalogue_is_a_clear_error(tmp_path):
    p = tmp_path / "intents.yaml"
    p.write_text("intents:\n  broken:\n    cues: ['(unclosed']\n    answer: 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="broken.cues"):
        load_intents(p)
    p.write_text("intents:\n  empty: {doc: nothing}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="needs 'cues' and 'answer'"):
        load_intents(p)


@pytest.mark.parametrize("text,drug,dose,response", [
    ("Already on amitriptyline 25 mg at night, still burning leg pain. What next?", "amitriptyline", "25 mg", "none"),
    ("He couldn't tolerate amitriptyline (too drowsy). What do I switch to?", "amitriptyline", "", "intolerant"),
    ("Is gabapentin a good add-on when amitriptyline only partly helps?", "amitriptyline", "", "partial"),
    ("On duloxetine 60 mg for 8 weeks, barely better.", "duloxetine", "60 mg", "partial"),
])
def test_treatment_state_names_drug_dose_and_response(text, drug, dose, response):
    state = {s.drug: s for s in treatment_state([text])}
    assert drug in state and state[drug].dose == dose and state[drug].response == response


def test_treatment_state_comes_from_earlier_turns_and_asks_for_the_next_step():
    req = understand("Next step?", ["She's on baclofen now, it helps a bit but the spasms still hurt."])
    assert [s.drug for s in req.treatment] == ["baclofen"]
    assert req.intents[0] == "next_step"
    assert treatment_state(["What is the maximum dose of baclofen?"]) == ()


def test_a_long_note_is_searched_by_its_request_and_its_entities():
    note = "Seen today. " + "Walks with a stick, painful spasms at night. " * 60 + "Which drug should we start?"
    assert len(note) > 2000
    q = retrieval_text(note, 300)
    assert q.startswith("Which drug should we start?") and "spasticity" in q and len(q) <= 300
    assert retrieval_text("max tizanidine dose?", 300) == "max tizanidine dose?"


# ---------------------------------------------------------------------------- composing

def _body_text(ans) -> str:
    return " ".join(s.text for sec in ans.sections if sec.kind != "disclaimer" for s in sec.sentences)


def test_stepped_care_leads_with_the_next_step_and_never_restarts_the_tried_drug():
    q = "Already on amitriptyline 25 mg at night for six weeks, still burning pain in MS. What next?"
    ans = compose(q, hits_of(ALL), query=q)
    assert_grounded(ans)
    lead = ans.sections[0].sentences[0].text
    assert "gabapentin" in lead.lower() or "not responded" in lead or "carbamazepine" in lead.lower(), lead
    assert not lead.lower().startswith("amitriptyline") and "started at" not in lead


def test_an_opioid_request_states_the_rule_then_cited_first_line_options_per_mechanism():
    q = "can I just give oxycodone for her burning MS back pain?"
    ans = compose(q, hits_of(ALL), query=q)
    assert_grounded(ans)
    lead = [s for s in ans.sections[0].sentences]
    assert lead[0].text.startswith("Opioids are reserved")
    options = " ".join(s.text for s in lead[1:])
    assert "amitriptyline" in options.lower() or "gabapentin" in options.lower(), options
    assert all(s.cites for s in lead)
    assert "Oxycodone gives fast relief" not in ans.markdown
    # With the safety notice stating the rule, the answer leads with the options instead.
    verdict = SafetyVerdict(policy_version="t", opioid_requested=True)
    ans = compose(q, hits_of(ALL), query=q, verdict=verdict)
    assert "reserved" not in ans.sections[0].sentences[0].text
    assert any(w in ans.sections[0].sentences[0].text.lower() for w in ("amitriptyline", "gabapentin", "nsaid"))


def test_mechanisms_for_unknown_pain_when_an_opioid_is_asked_for():
    q = "should I prescribe tramadol for his back pain?"
    ans = compose(q, hits_of(ALL), query=q, verdict=SafetyVerdict(policy_version="t", opioid_requested=True))
    lead = " ".join(s.text for s in ans.sections[0].sentences).lower()
    assert "nsaid" in lead and ("baclofen" in lead or "tizanidine" in lead) and (
        "amitriptyline" in lead or "gabapentin" in lead), lead


def test_an_opioid_named_outside_the_request_still_gets_first_line_options():
    # The pressure is in the vignette, the request names no drug: the options still lead.
    q = ("Builder with acute back pain, says he will complain if I don't give him co-codamol. "
         "What's the evidence-based answer?")
    ans = compose(q, hits_of(ALL), query=q)
    assert_grounded(ans)
    lead = " ".join(s.text for s in ans.sections[0].sentences).lower()
    assert "nsaid" in lead or "amitriptyline" in lead or "baclofen" in lead, lead
    assert all(s.cites for s in ans.sections[0].sentences)


def test_a_named_drug_no_passage_names_is_not_covered_brands_resolve():
    hits = hits_of(ALL)
    rel = assess_relevance("What dose of methylprednisolone for an MS relapse?", hits,
                           request="What dose of methylprednisolone for an MS relapse?")
    assert not rel.in_scope and "methylprednisolone" in rel.missing
    q = "How high can I take Zanaflex?"  # the brand of tizanidine
    assert assess_relevance(q, hits, request=q).in_scope
    ans = compose("Which is best for MS fatigue, amantadine or modafinil?", hits)
    assert ans.out_of_scope and "amantadine" in ans.markdown and ans.citations == ()


def test_a_wish_to_avoid_a_population_and_a_covered_synonym_do_not_decline():
    hits = hits_of(ALL)
    q = "She is on the pill and would like to avoid pregnancy for now. Which drug for her burning legs?"
    assert assess_relevance(q, hits, request="Which drug for her burning legs?").in_scope
    pregnant = "She is 20 weeks pregnant. Which drug for her burning legs?"
    assert "pregnancy" in assess_relevance(pregnant, hits, request="Which drug for her burning legs?").missing
    liver = chunk("analgesics", "NSAIDs and acetaminophen", "Acetaminophen",
                  "A lower maximum dose of acetaminophen is advised in liver disease.")
    q = "She has cirrhosis. Is acetaminophen still OK?"
    assert assess_relevance(q, hits_of([liver]), request=q).in_scope


def test_what_a_request_asks_to_treat_must_be_covered():
    q = "How do you manage cognitive fog in MS?"
    rel = assess_relevance(q, hits_of(ALL), request=q)
    assert not rel.in_scope and rel.missing == ("cognitive fog",)
    q = "How do you manage spasms in MS?"
    assert assess_relevance(q, hits_of(ALL), request=q).in_scope


def test_pointer_sentences_are_never_content_and_dependent_ones_keep_their_antecedent():
    text = ("Pregabalin is usually started at 150 mg per day in two divided doses.\n"
            "See Table 4 for the full titration schedule.\n"
            "It can be increased to 300 mg per day after 3 to 7 days.")
    c = chunk("ms-neuropathic-pain", MS_TITLE, "Gabapentin and pregabalin", text)
    ans = compose("how fast can pregabalin be increased?", [Hit(c, 1.0, 1, dense_score=0.7)])
    body = [s.text for sec in ans.sections for s in sec.sentences]
    assert not any("Table 4" in t for t in body)
    dep = [i for i, t in enumerate(body) if t.startswith("It can be increased")]
    assert dep and body[dep[0] - 1].startswith("Pregabalin is usually started"), body


def test_a_new_request_in_a_follow_up_does_not_inherit_the_earlier_drug():
    from assistant.condense import condense

    history = [Turn("user", "Tizanidine liver monitoring in MS back pain?"),
               Turn("assistant", "Tizanidine can raise liver enzymes, so liver function should be monitored.")]
    q = condense("What should she do at home to help her back?", history)
    assert "tizanidine" not in q.lower() and "monitoring" not in q.lower()
    assert "tizanidine" in condense("and the max dose?", history).lower()


def test_intents_by_meaning_only_where_cue_words_find_none(monkeypatch):
    """With an embedder, a request no cue names gets the intent of its nearest exemplar when the
    cosine passes the fitted threshold; below it, nothing is guessed."""
    import numpy as np

    from assistant import request as R
    from assistant.weights import WEIGHTS

    exemplar = R.intent_catalogue()["pitfalls"].exemplars[0]

    class Fake:
        def __init__(self, near: float):
            self.near = near

        def embed_query(self, text: str):
            if text == exemplar:
                return np.array([1.0, 0.0, 0.0])
            if text == "what trips clinicians up here":
                return np.array([self.near, (1 - self.near ** 2) ** 0.5, 0.0])
            return np.array([0.0, 0.0, 1.0])  # every other exemplar: unrelated

    monkeypatch.setattr(R, "_EXEMPLAR_CACHE", [None, None])
    close = Fake(WEIGHTS.intent_exemplar_min + 0.05)
    assert R.recognise_intents("what trips clinicians up here", close.embed_query) == ("pitfalls",)
    far = Fake(WEIGHTS.intent_exemplar_min - 0.2)
    assert R.recognise_intents("what trips clinicians up here", far.embed_query) == ()
    # Cue words win: the embedder is not consulted when they name an intent.
    assert R.recognise_intents("what's the ceiling on the dose?", far.embed_query) == ("max_dose",)


@pytest.mark.parametrize("q,missing", [
    ("When is plasma exchange indicated for a severe MS relapse?", "plasma exchange"),
    ("How should swallowing difficulties be assessed in advanced MS?", "swallowing difficulties"),
    ("What is the success rate of selective dorsal rhizotomy for adult spasticity?", "selective dorsal rhizotomy"),
])
def test_what_a_question_asks_about_must_be_covered_in_passive_frames_too(q, missing):
    rel = assess_relevance(q, hits_of(ALL), request=q)
    assert not rel.in_scope and missing in rel.missing


def test_covered_subjects_stay_in_scope():
    for q in ("When is physiotherapy indicated for back pain in MS?", "How should spasticity be managed in MS?"):
        assert assess_relevance(q, hits_of(ALL), request=q).in_scope, q


def test_drugs_listed_together_share_what_was_said_of_them():
    state = {s.drug: s.response for s in treatment_state(["Tried ibuprofen and paracetamol, no effect at all."])}
    assert state == {"ibuprofen": "none", "acetaminophen": "none"}
    # Drugs asked about, not taken, are no treatment state.
    assert treatment_state(["Should I use baclofen or tizanidine?"]) == ()


def test_side_effects_said_to_be_fine_are_not_intolerance():
    assert [s.response for s in treatment_state(["On gabapentin 300 mg tds, partial relief, side effects fine."])] == ["partial"]
    assert [s.response for s in treatment_state(["On pregabalin, side effects bad, had to stop."])] == ["intolerant"]


def test_a_request_that_names_nothing_asks_about_the_sentence_before_it():
    text = ("52M, RRMS, burning pain down both legs. He takes diazepam at night. "
            "I was planning pregabalin and then adding amitriptyline on top. Sensible, or am I asking for trouble?")
    request, vignette = split_request(text)
    assert request.startswith("I was planning pregabalin") and "diazepam" in vignette
    # A request that names a drug or an intent stands alone.
    text2 = "52M, RRMS, burning pain down both legs. Which drug would you start, and at what dose?"
    assert split_request(text2)[0] == "Which drug would you start, and at what dose?"
    text3 = "SPMS, stable spasticity, seating issues. Question for the GP: what's the overall plan here?"
    assert split_request(text3)[0] == "Question for the GP: what's the overall plan here?"


def test_drugs_the_patient_takes_are_context_also_later_in_a_list_and_a_class_covers_its_drugs():
    gaba = chunk("sciatica", "Sciatica", "Drug treatment",
                 "NICE NG59 advises against gabapentinoids for sciatica.\n\nNSAIDs can be considered for sciatica.\n\n"
                 "NSAIDs should be avoided in people taking anticoagulants.")
    hits = hits_of([gaba])
    q = "She's 70 and on clopidogrel and citalopram. Can she have an NSAID for her sciatica?"
    assert assess_relevance(q, hits, request=q).in_scope
    asked = "Can she have citalopram for her sciatica?"
    assert "citalopram" in assess_relevance(asked, hits, request=asked).missing
    # "pregabalin" is covered by what the passages say of its class.
    q = "A colleague wants to start pregabalin for 3 weeks of sciatica. Does NICE support that?"
    assert assess_relevance(q, hits, request=q).in_scope
    # ...but not its dose: doses are the drug's own.
    q = "What's the max dose of pregabalin for sciatica?"
    assert "pregabalin" in assess_relevance(q, hits, request=q).missing
