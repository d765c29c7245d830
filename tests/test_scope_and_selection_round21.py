"""Scope, selection and search fixes made after blind answer round 21, each with a near miss:
shortened drug names, a request's object that names the person, an opioid request beside an
uncovered co-medication, a diagnosis stated just before a request without a topic, triggers
asked about a drug, a vignette's medication list, new intent cues, normal lab results, and the
texts the two retrievers read."""

from __future__ import annotations

from assistant.compose import assess_relevance, compose
from assistant.condense import retrieval_texts
from assistant.request import understand
from assistant.vocab import vocabulary
from tests.test_compose import ALL, MS_TITLE, SPAS_TITLE, chunk, hits_of

NEURO_DOC = "Neuropathic pain in multiple sclerosis"
RENAL = chunk("ms-neuropathic-pain", NEURO_DOC, "Gabapentin and pregabalin > Renal dose adjustment",
              "Gabapentin and pregabalin are cleared by the kidneys, so their doses should be reduced "
              "when creatinine clearance is below 60 mL per minute.")
TRIGGERS = chunk("ms-spasticity", SPAS_TITLE, "Key recommendations",
                 "Triggers such as infection, constipation, pressure sores and pain should be treated "
                 "before drugs for spasticity are started or increased.")
SUDDEN = chunk("ms-spasticity", SPAS_TITLE, "First-line drugs > Baclofen",
               "The usual maximum dose of baclofen is 100 mg per day in UK practice. Baclofen is started "
               "at 5 mg three times a day and increased gradually. A sudden increase in spasticity should "
               "prompt a search for a trigger before the dose of baclofen is raised.")
CARBA = chunk("ms-neuropathic-pain", NEURO_DOC, "Trigeminal neuralgia",
              "Carbamazepine is the first-line drug for trigeminal neuralgia in multiple sclerosis. "
              "Carbamazepine and oxcarbazepine can cause low sodium, dizziness, drowsiness and unsteadiness.")
DMT = chunk("ms-back-pain", MS_TITLE, "Red flags > Infection",
            "Immunosuppression, including MS disease-modifying therapies, raises the risk of spinal infection.")


def test_a_shortened_drug_name_counts_as_the_drug_the_passages_name():
    q = "gaba/pregab in MS nerve pain - at what creatinine clearance do I cut the dose?"
    assert assess_relevance(q, hits_of([RENAL]), request=q).in_scope
    q = "gabo in MS nerve pain - at what creatinine clearance do I cut the dose?"  # no drug's start
    rel = assess_relevance(q, hits_of([RENAL]), request=q)
    assert "gabo" not in " ".join(rel.missing) or not rel.in_scope


def test_the_person_a_treatment_is_for_is_not_a_topic():
    q = "What are the drug-specific issues with those two options for a safety-critical job?"
    assert assess_relevance(q, hits_of(ALL), request=q).in_scope
    q = "What are the options for vertebral osteomyelitis?"
    assert not assess_relevance(q, hits_of(ALL), request=q).in_scope


def test_an_opioid_request_is_answered_when_only_a_co_medication_is_uncovered():
    q = "Tramadol from a walk-in clinic for 5 months + sertraline 150. Wants it upped. What do I tell him?"
    rel = assess_relevance(q, hits_of(ALL), request=q)
    ans = compose(q, hits_of(ALL))
    assert not rel.in_scope and set(rel.missing) <= set(rel.missing_drugs)
    assert not ans.out_of_scope
    q = "Tramadol for my 10-year-old's back pain - how much?"
    assert compose(q, hits_of(ALL)).out_of_scope  # a population the guidance does not cover


def test_a_request_without_a_topic_is_about_the_diagnosis_just_stated():
    q = "38F, widespread pain for 2 years, poor sleep - rheumatology says fibromyalgia. What's first-line management?"
    assert "fibromyalgia" in assess_relevance(q, hits_of(ALL), request="What's first-line management?").missing
    q = "38F, low back pain for 2 years, past cholecystitis. What's first-line management?"
    assert assess_relevance(q, hits_of(ALL), request="What's first-line management?").in_scope


def test_asked_about_raising_a_drug_the_triggers_to_treat_lead_whatever_the_drug():
    q = ("Over the past week much more frequent painful spasms; new pressure sore, bowels not open for 6 days. "
         "Should we push the baclofen up? What should we be doing first?")
    ans = compose(q, hits_of([SUDDEN, TRIGGERS]))
    assert "constipation, pressure sores" in ans.markdown
    q = "How far can we push the baclofen up?"
    lead = " ".join(s.text for s in compose(q, hits_of([SUDDEN, TRIGGERS])).sections[0].sentences)
    assert "100 mg" in lead


def test_a_medication_list_is_not_what_a_request_naming_no_drug_asks_about():
    vignette = ("29F with MS on a DMT. Three weeks of electric pains in the left cheek set off by wind and "
                "brushing teeth. Meds: the pill, vitamin D, DMT. ")
    ans = compose(vignette + "What should I start her on, and what bloods should I think about?",
                  hits_of([CARBA, DMT]))
    assert "low sodium" in ans.markdown
    from assistant.compose.query import parse_query

    start = vignette + "What should I start her on?"
    assert "disease_modifying" not in parse_query(start, start, understand(start)).agents
    stop = vignette + "Should I stop it?"  # points back at a drug of the vignette: kept
    assert "disease_modifying" in parse_query(stop, stop, understand(stop)).agents


def test_choosing_and_watching_for_are_asked_in_plain_words():
    assert "first_choice" in understand("What would you pick for him and why?").intents
    assert "side_effects" in understand("What should I watch for?").intents
    assert "first_choice" not in understand("Can he pick up his grandchildren?").intents


def test_a_normal_lab_result_is_not_the_population_of_its_test():
    v = vocabulary()
    assert "renal" not in v.concept_ids("eGFR >90, LFTs normal", affirmed=True)
    assert "renal" not in v.concept_ids("renal function normal", affirmed=True)
    assert "renal" in v.concept_ids("eGFR 34", affirmed=True)
    assert "renal" in v.concept_ids("eGFR <30", affirmed=True)  # a bound below: not normal


def test_the_model_reads_the_question_with_abbreviations_and_brands_resolved():
    bm25, dense = retrieval_texts("Pt on Sativex 4 weeks for MS spasticity, LBP. Keep prescribing it?")
    assert "nabiximols" in bm25 and "nabiximols" in dense
    assert "back pain" in dense  # LBP
    assert "cannabinoids" in bm25 and "cannabinoids" not in dense  # a vocabulary name: words only
    bm25, dense = retrieval_texts("What is the maximum daily dose of tizanidine?")
    assert dense == "What is the maximum daily dose of tizanidine?"


def test_a_request_that_asks_nothing_in_particular_gets_the_plan_the_vignette_calls_for():
    acute = "42M, builder, 5 days of low back pain after lifting, no leg symptoms. "
    chronic = "42M, builder, 4 months of low back pain, paracetamol helps a little. "
    assert "plan_acute" in understand(acute + "What does the guidance recommend?").intents
    assert "plan_chronic" in understand(chronic + "Thoughts?").intents
    assert "plan_acute" not in understand(chronic + "Thoughts?").intents
    assert "plan_acute" not in understand("What does the guidance recommend for back pain?").intents


def test_which_drug_of_a_kind_asks_for_the_first_choice():
    assert "first_choice" in understand("Which neuropathic agent would you choose for her?").intents
    assert "first_choice" not in understand("Which other drugs interact with it?").intents


def test_licensing_and_insurance_forms_are_neighbours_the_guidance_does_not_cover():
    q = "Newly diagnosed MS, drives for work. Must he tell the DVLA, and what goes on his insurance medical questionnaire?"
    assert not assess_relevance(q, hits_of(ALL), request=q).in_scope
    q = "Newly diagnosed MS, drives for work, new back pain. What can he take that won't make him drowsy?"
    assert assess_relevance(q, hits_of(ALL), request=q).in_scope


SCIATICA_DOC = "Sciatica and lumbar radicular pain"
SCI_DRUGS = chunk("sciatica-radicular-pain", SCIATICA_DOC, "Drug treatment",
                  "NSAIDs have limited evidence of benefit for sciatica. NICE NG59 advises against gabapentinoids "
                  "and oral corticosteroids for sciatica because harms outweigh the unproven benefit. An epidural "
                  "injection of local anaesthetic and steroid can be considered for acute, severe sciatica.")


def test_what_the_guidance_advises_against_among_the_drugs_taken_leads():
    q = ("46F, 3 weeks of sciatica, numb big toe, no red flags. Started gabapentin 300 mg tds last week, groggy "
         "and no better. She wants the steroid shot. What's reasonable?")
    lead = " ".join(s.text for s in compose(q, hits_of([SCI_DRUGS])).sections[0].sentences)
    assert "advises against gabapentinoids" in lead
    q = "46F, 3 weeks of sciatica, numb big toe, no red flags, takes nothing. She wants the steroid shot. What's reasonable?"
    lead = " ".join(s.text for s in compose(q, hits_of([SCI_DRUGS])).sections[0].sentences)
    assert "advises against gabapentinoids" not in lead


def test_spasms_creeping_up_before_a_dose_rise_ask_for_triggers():
    v = "MS review: his spasms and stiffness have crept up over the last fortnight, nothing else new. "
    assert "triggers" in understand(v + "The GP is about to bump his baclofen. What should I be looking for first?").intents
    assert "triggers" not in understand("The GP is about to bump his baclofen. What should I be looking for first?").intents


def test_what_the_question_names_gets_a_sentence_of_its_own():
    chair = chunk("ms-back-pain-patient-guide", "Back pain and MS: a guide", "What helps",
                  "Staying active, stretching and physiotherapy help most people with back pain and MS. "
                  "A physiotherapist can show you stretches and exercises that suit your MS. "
                  "Checking that your wheelchair, cushion, braces and shoes fit well can prevent painful pressure and strain.")
    q = "My mum has MS and sits in her wheelchair most of the day. Her lower back aches by the evening. What can we do at home?"
    lead = " ".join(s.text for s in compose(q, hits_of([chair]), audience="patient").sections[0].sentences)
    assert "wheelchair, cushion" in lead


def test_a_fear_of_harm_asks_for_reassurance():
    assert "reassurance" in understand("I'm scared that exercising will make my MS worse. Should I just rest?").intents
    assert "reassurance" in understand("will going to the gym make my MS worse?").intents
    assert "reassurance" not in understand("My pain is worse at night, what can I take?").intents
