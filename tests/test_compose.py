"""The grounded composer: every statement is a cited corpus sentence, laid out by question type."""

from __future__ import annotations

import re

import numpy as np
import pytest

from assistant import compose as C
from assistant.compose import compose, expand_hits, question_breadth
from assistant.records import Hit, SafetyVerdict
from assistant.render import render
from ingest.records import Chunk

SEED = "What is the best approach for treating back pain in a patient with Multiple Sclerosis (MS)?"
MS_TITLE = "Back pain in multiple sclerosis: assessment and treatment"
GUIDE_TITLE = "Back pain and MS: a guide for patients and families"
SPAS_TITLE = "Spasticity in multiple sclerosis: management"

_pos = {"n": 0}


def chunk(doc_id: str, title: str, path: str, text: str) -> Chunk:
    _pos["n"] += 1000
    section = f"{title} > {path}"
    return Chunk(chunk_id=f"{doc_id}:{abs(hash(section + text)) % 10**12:012d}", doc_id=doc_id, title=title,
                 section=section, version="1.0", status="approved", last_reviewed="2026-01-01",
                 start=_pos["n"], end=_pos["n"] + len(text), text=text)


KEY = chunk("ms-back-pain", MS_TITLE, "Key recommendations", """
Back pain in multiple sclerosis usually has more than one cause, so neuropathic, spasticity-related and musculoskeletal components should be identified before treatment is chosen.
Red flags such as cauda equina syndrome and progressive neurological deficit must be excluded at the first assessment.
Spasticity-related back pain is treated with baclofen or tizanidine, and neuropathic pain with amitriptyline or gabapentin.
""".strip())
NEURO = chunk("ms-back-pain", MS_TITLE, "Pain mechanisms > Neuropathic pain", """
Neuropathic pain in multiple sclerosis arises directly from demyelinating lesions in the brain or spinal cord.
Burning dysesthesias are the most common chronic pain syndrome in multiple sclerosis.
Neuropathic pain in multiple sclerosis responds to anticonvulsants or antidepressants rather than to simple analgesics.
""".strip())
SPAS = chunk("ms-back-pain", MS_TITLE, "First-line drug treatment > Spasticity component", """
Baclofen is approved for spasticity caused by multiple sclerosis and relieves spasms that contribute to back pain.
Baclofen is started at 5 mg three times a day and never stopped abruptly.
Tizanidine reduces muscle tone and reaches its peak effect 1 to 2 hours after a dose.
Tizanidine is titrated to the maximum tolerated dose, up to 36 mg per day in divided doses.
""".strip())
MSK = chunk("ms-back-pain", MS_TITLE, "First-line drug treatment > Musculoskeletal component", """
NSAIDs give better relief of back pain than acetaminophen and are the first-line drug for the musculoskeletal component.
Acetaminophen is an acceptable alternative when NSAIDs are contraindicated, although it is less effective.
""".strip())
NONDRUG = chunk("ms-back-pain", MS_TITLE, "First-line non-drug treatment", """
People with multiple sclerosis and back pain should be advised to remain as active as they can.
Physiotherapy for back pain in multiple sclerosis includes stretching, posture correction and gait retraining.
""".strip())
SECOND = chunk("ms-back-pain", MS_TITLE, "Second-line options", """
Lamotrigine or carbamazepine can be tried for neuropathic pain in multiple sclerosis that has not responded to first-line drugs.
Opioids are reserved for severe, disabling pain that is not controlled by other measures, because of their risk of misuse and addiction.
Oxycodone gives fast relief of back pain in multiple sclerosis.
""".strip())
ALGO = chunk("ms-back-pain", MS_TITLE, "Treatment algorithm > Acute presentation", """
1. The first step for acute back pain in multiple sclerosis is an NSAID, advice to remain active and physiotherapy.
2. Baclofen or tizanidine is added when spasticity contributes to acute back pain in multiple sclerosis.
3. Gabapentin or a tricyclic antidepressant is added when the back pain has neuropathic features.
""".strip())
PITS = chunk("ms-back-pain", MS_TITLE, "Pitfalls", """
- Pain in multiple sclerosis is often overlooked because patients do not mention it, so clinicians should ask about it.
- Treating all back pain in multiple sclerosis the same way is a mistake, because each pain component needs a different treatment.
- Prolonged bed rest leads to deconditioning and worsens outcomes in people with multiple sclerosis and back pain.
""".strip())
FORPAT = chunk("ms-back-pain", MS_TITLE, "For patients", """
Back pain is common in multiple sclerosis and can come from nerve damage, stiff muscles or strain from posture.
Staying active usually helps back pain settle sooner, while long periods of bed rest make it worse.
""".strip())
GUIDE = chunk("ms-back-pain-patient-guide", GUIDE_TITLE, "What helps", """
Staying as active as you can helps back pain settle, while lying in bed for long periods makes it worse.
A physiotherapist can show you stretches and exercises that suit your MS and help your back.
Muscle relaxants can ease stiffness and spasms that cause back pain in MS.
""".strip())
TIZ = chunk("ms-spasticity", SPAS_TITLE, "Second-line drugs > Tizanidine", """
Tizanidine is usually started at 2 mg and increased in 2 mg steps at intervals of several days.
The maximum dose of tizanidine is 36 mg per day in divided doses.
Liver function tests should be checked before starting tizanidine and during the first months of treatment.
""".strip())
BACLOFEN_DOSE = chunk("ms-spasticity", SPAS_TITLE, "First-line drugs > Baclofen", """
The usual maximum dose of baclofen is 100 mg per day.
Baclofen should be tapered over at least 1 to 2 weeks when it is being stopped.
""".strip())

ALL = [KEY, NEURO, SPAS, MSK, NONDRUG, SECOND, ALGO, PITS, FORPAT, GUIDE, TIZ, BACLOFEN_DOSE]


def hits_of(chunks, dense=0.6) -> list[Hit]:
    return [Hit(chunk=c, score=1.0 / (60 + i), rank=i, dense_score=dense - 0.01 * i)
            for i, c in enumerate(chunks, 1)]


def clinical_sections(ans):
    """Sections of clinical statements: all but the disclaimer and the out-of-scope notice."""
    return [s for s in ans.sections if s.kind not in ("disclaimer", "out_of_scope")]


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"^\s*(?:[-*]|\d+\.)\s+", "", text, flags=re.M)).strip()


def assert_grounded(ans):
    """Every clinical sentence is cited, every [n] resolves, one passage keeps one number,
    and the sentence is text of a passage it cites."""
    nums = [c.n for c in ans.citations]
    assert nums == list(range(1, len(nums) + 1))
    assert len({c.chunk_id for c in ans.citations}) == len(nums)
    hit_ids = {h.chunk.chunk_id for h in ans.hits}
    assert {c.chunk_id for c in ans.citations} <= hit_ids
    by_n = {c.n: c for c in ans.citations}
    first_use: list[int] = []
    for sec in clinical_sections(ans):
        for s in sec.sentences:
            assert s.cites, f"uncited sentence: {s.text!r}"
            assert all(n in by_n for n in s.cites)
            assert any(s.text.rstrip(".") in norm(by_n[n].text) for n in s.cites), s.text
            for n in s.cites:
                if n not in first_use:
                    first_use.append(n)
    assert first_use == sorted(first_use) == nums  # numbered in order of first use, all used
    assert ans.markdown == render(ans.sections)


# --------------------------------------------------------------------------- question types

@pytest.mark.parametrize("q,expected", [
    (SEED, "broad"),
    ("How should I manage spasticity in MS?", "broad"),
    ("Overview of neuropathic pain treatment", "broad"),
    ("max tizanidine dose?", "narrow"),
    ("how long should NSAIDs be given?", "narrow"),
    ("is ibuprofen safe in pregnancy?", "narrow"),
    ("does he need imaging?", "narrow"),
    ("and if NSAIDs are contraindicated?", "focused"),
    # A bare "what treatment?" and a case presented without a question ask how to manage it.
    ("MS pt, LBP 2 wks, afebrile. What treatment?", "broad"),
    ("pt w/ RRMS on ocrelizumab, LBP x3wk, no fever", "broad"),
    ("58M SPMS, lower back ache 10 days", "broad"),
    ("what treatment for the night-time spasms?", "broad"),
    ("Chronic LBP for years. What helps?", "broad"),
    ("what helps with spasms at night?", "focused"),
    ("ocrelizumab", "focused"),  # no complaint: not a case presentation
    ("RRMS, no back pain", "focused"),  # the only complaint is denied
    ("what treatment works fastest for him?", "focused"),
])
def test_question_breadth(q, expected):
    assert question_breadth(q) == expected


# --------------------------------------------------------------------------- broad answers

def test_broad_answer_is_a_grounded_guideline_summary():
    ans = compose(SEED, hits_of(ALL), query=SEED)
    assert_grounded(ans)
    kinds = [s.kind for s in ans.sections]
    assert kinds[0] == "bottom_line"
    assert kinds[-1] == "disclaimer"
    bl = ans.sections[0]
    assert 1 <= len(bl.sentences) <= 3
    key_n = next(c.n for c in ans.citations if c.chunk_id == KEY.chunk_id)
    assert all(key_n in s.cites for s in bl.sentences)  # from the key recommendations
    algo = [s for s in ans.sections if s.kind == "algorithm"]
    assert algo and algo[0].ordered
    assert [s.text for s in algo[0].sentences][0].startswith("The first step")
    assert any(s.kind == "pitfalls" for s in ans.sections)
    assert kinds.index("algorithm") > kinds.index("body")
    headings = {s.heading for s in ans.sections}
    assert any("Spasticity component" in h or "Neuropathic pain" in h for h in headings)
    assert len(ans.citations) >= 5
    # Clinician answers leave the "For patients" section out when there is enough else.
    assert FORPAT.chunk_id not in {c.chunk_id for c in ans.citations}
    assert ans.composer == "grounded" and not ans.out_of_scope
    assert ans.hits == tuple(hits_of(ALL))
    assert ans.condensed_query == SEED
    assert ans.safety == SafetyVerdict(policy_version="")
    assert "Bottom line" in ans.markdown and "[1]" in ans.markdown


def test_opioids_are_never_offered_as_routine_options():
    ans = compose(SEED, hits_of(ALL), query=SEED)
    texts = [s.text for sec in clinical_sections(ans) for s in sec.sentences]
    assert not any("Oxycodone" in t for t in texts)
    assert not any("opioid" in s.text.lower() for s in ans.sections[0].sentences)
    # The reservation itself is guideline content a treatment overview should keep.
    assert any(t.startswith("Opioids are reserved") for t in texts)


def test_asking_for_an_opioid_puts_the_reservation_first():
    q = "can I just give oxycodone for her MS back pain?"
    ans = compose(q, hits_of(ALL), query=q)
    assert_grounded(ans)
    assert ans.sections[0].sentences[0].text.startswith("Opioids are reserved")


def test_verdict_is_kept():
    v = SafetyVerdict(policy_version="p1", escalated=True)
    ans = compose(SEED, hits_of(ALL), query=SEED, verdict=v)
    assert ans.safety is v


# --------------------------------------------------------------------------- narrow answers

def test_narrow_dose_question_gets_a_short_answer():
    q = "max tizanidine dose?"
    ans = compose(q, hits_of([SPAS, TIZ, KEY, BACLOFEN_DOSE, ALGO, PITS]), query=q)
    assert_grounded(ans)
    sents = [s for sec in clinical_sections(ans) for s in sec.sentences]
    assert 1 <= len(sents) <= C.NARROW_MAX_SENTENCES
    assert "36 mg" in ans.sections[0].sentences[0].text  # the dose leads
    assert any("2 mg steps" in s.text for s in sents)  # and how to titrate
    assert not any("aclofen" in s.text for s in sents)
    assert not any(s.kind in ("algorithm", "pitfalls") for s in ans.sections)
    assert "What is the maximum dose of tizanidine?" not in ans.suggestions  # just answered


OPIOID_TITLE = "Opioid prescribing for pain"
OP_DURATION = chunk("opioid-prescribing", OPIOID_TITLE, "Duration for acute pain", """
Courses longer than 7 days are rarely needed when opioids are reserved for severe, disabling acute pain.
Patients given an opioid for severe, disabling acute pain that lasts longer than expected should be reassessed at least every 2 weeks.
Leftover opioid tablets prescribed for severe, disabling pain should be disposed of safely to prevent misuse by others.
Acute pain severe and disabling enough to need an opioid often settles within a few days, so 3 days or less is often enough.
""".strip())
OP_FOLLOW = chunk("opioid-prescribing", OPIOID_TITLE, "Follow-up and monitoring", """
Patients starting an opioid for severe, disabling acute or chronic pain should be reassessed within 1 to 4 weeks.
Long-term opioid therapy reserved for severe, disabling pain should be reviewed at least every 3 months.
""".strip())
OP_MME = chunk("opioid-prescribing", OPIOID_TITLE, "Dose thresholds", """
Daily opioid doses for severe, disabling pain should be expressed in morphine milligram equivalents (MME).
Increasing an opioid reserved for severe, disabling pain to 50 MME per day or more calls for careful reassessment.
Opioid doses for severe, disabling pain give diminishing benefit at higher levels, while overdose risk keeps rising.
Raising an opioid reserved for severe, disabling pain to 90 MME per day or more should be avoided unless justified.
""".strip())
OP_RISK = chunk("opioid-prescribing", OPIOID_TITLE, "Reducing overdose risk", """
Naloxone should be offered to patients on opioids reserved for severe, disabling pain when reassessment shows raised overdose risk.
Reassessment of opioids reserved for severe, disabling pain should include a check of the prescription monitoring program.
Combining an opioid reserved for severe, disabling pain with a benzodiazepine should be avoided.
""".strip())


def test_number_in_the_unit_asked_for_is_found():
    # "how many days" is answered by "3 days", not by "every 2 weeks"; "MME thresholds" by "50 MME".
    q = C._parse_query("how many days of opioid for acute severe pain?", "how many days of opioid for acute severe pain?")
    assert "day" in q.units
    assert "mme" in C._parse_query("MME thresholds?", "MME thresholds?").units
    assert not C._parse_query("what is first-line for back pain?", "what is first-line for back pain?").units
    by_text = {s.text: s for s in C._sentences(OP_MME)}
    assert "mme" in by_text["Raising an opioid reserved for severe, disabling pain to 90 MME per day or more "
                           "should be avoided unless justified."].number_units
    assert C._number_units("reassessed within 1 to 4 weeks") == {"week"}


def test_how_many_days_answer_states_the_days():
    q = "how many days of opioid for acute severe pain?"
    ans = compose(q, hits_of([OP_DURATION, OP_FOLLOW, OP_MME]), query=q)
    assert_grounded(ans)
    sents = [s.text for sec in clinical_sections(ans) for s in sec.sentences]
    assert len(sents) <= C.NARROW_MAX_SENTENCES  # still a short answer
    assert any("7 days" in t for t in sents) and any("3 days" in t for t in sents)
    qq = C._parse_query(q, q)
    score = {c.sent.text[:40]: c.score for c in C._score_all(qq, hits_of([OP_DURATION, OP_FOLLOW]), "clinician", None)}
    # The days outrank the weeks, which carry more of the question's words.
    assert score["Acute pain severe and disabling enough t"] > score["Patients starting an opioid for severe, "]


def test_threshold_question_states_every_threshold():
    q = "MME thresholds that should trigger reassessment?"
    ans = compose(q, hits_of([OP_RISK, OP_MME, OP_FOLLOW, OP_DURATION]), query=q)
    assert_grounded(ans)
    text = " ".join(s.text for sec in clinical_sections(ans) for s in sec.sentences)
    assert "50 MME" in text and "90 MME" in text


IMG_TITLE = "Imaging for low back pain"
IMG_NOT = chunk("imaging-low-back-pain", IMG_TITLE, "When not to image", """
Imaging is not recommended for acute or subacute nonspecific low back pain without red flags.
NICE advises against routinely offering imaging for low back pain in a non-specialist setting.
In specialist settings, imaging of low back pain is advised only when the result is likely to change management.
""".strip())
IMG_HARMS = chunk("imaging-low-back-pain", IMG_TITLE, "Harms of routine imaging", """
Routine imaging for low back pain without red flags does not improve pain, function or quality of life.
Early MRI for low back pain is associated with higher rates of surgery without better outcomes.
""".strip())
IMG_KEY = chunk("imaging-low-back-pain", IMG_TITLE, "Key recommendations", """
Routine imaging should not be ordered for nonspecific low back pain, because it does not improve outcomes.
Urgent MRI is needed when red flags suggest cauda equina syndrome, infection, malignancy or fracture.
MRI should be considered when a patient is a candidate for surgery and symptoms persist beyond 4 to 6 weeks.
""".strip())


def test_when_indicated_is_answered_by_the_indications():
    q = "When is imaging indicated for low back pain?"
    assert "indication" in C._parse_query(q, q).intents
    ans = compose(q, hits_of([IMG_NOT, IMG_KEY, IMG_HARMS]), query=q)
    assert_grounded(ans)
    assert ans.sections[0].kind == "bottom_line"
    lead = [s.text for s in ans.sections[0].sentences]
    assert any("4 to 6 weeks" in t or "Urgent MRI" in t for t in lead)
    assert not any("not recommended" in t or "advises against" in t for t in lead)
    sents = [s for sec in clinical_sections(ans) for s in sec.sentences]
    assert len(sents) <= C.NARROW_MAX_SENTENCES


def test_negation_of_the_advice_not_of_a_condition():
    assert C._negated_main_clause("Imaging is not recommended for low back pain without red flags.")
    assert C._negated_main_clause("Routine imaging does not improve pain or function.")
    assert not C._negated_main_clause("Intrathecal baclofen is considered for spasticity that does not respond to oral drugs.")
    assert not C._negated_main_clause("Patients who are not improving after 4 weeks should be reassessed.")


CHRONIC_TITLE = "Chronic low back pain"
CHRONIC_DRUGS = chunk("low-back-pain-chronic", CHRONIC_TITLE, "Drug treatment", """
Tramadol is a second-line option that is reserved for severe, disabling pain because of misuse and addiction risk.
NSAIDs are the first-line drug treatment for chronic low back pain when nondrug therapy has not helped enough.
Duloxetine is a second-line option for chronic low back pain.
""".strip())
TRAMADOL = chunk("opioid-prescribing", OPIOID_TITLE, "Specific opioid agents > Tramadol", """
Tramadol is reserved for severe, disabling pain that other measures have not controlled, because of its risk of misuse.
Tramadol reserved for severe, disabling pain can cause serotonin syndrome when combined with SSRIs.
Tramadol reserved for severe, disabling pain lowers the seizure threshold and should be avoided in epilepsy.
Tramadol effect varies with CYP2D6 activity, so tramadol reserved for severe, disabling pain can be unpredictable.
""".strip())


def test_is_drug_first_line_names_what_is_first_line():
    # "Is tramadol first-line?" needs "no, it is reserved" and what is first-line instead.
    q = "is tramadol first line for chronic low back pain?"
    ans = compose(q, hits_of([TRAMADOL, CHRONIC_DRUGS, OP_RISK]), query=q)
    assert_grounded(ans)
    text = " ".join(s.text for sec in clinical_sections(ans) for s in sec.sentences)
    assert "NSAIDs are the first-line drug treatment" in text
    assert "reserved" in text


def test_later_line_statements_do_not_answer_first_line_questions():
    assert C._LATER_LINE.search("Lamotrigine can be tried for pain that has not responded to first-line drugs.")
    assert C._LATER_LINE.search("Second-line options are used when pain persists despite first-line treatment.")
    assert not C._LATER_LINE.search("NSAIDs are the first-line drug for the musculoskeletal component.")
    lines = chunk("ms-back-pain", MS_TITLE, "Neuropathic component", """
Lamotrigine or carbamazepine can be tried for neuropathic pain in multiple sclerosis that has not responded to first-line drugs.
Amitriptyline is the first-line drug for neuropathic pain in multiple sclerosis.
""".strip())
    q = "what is first-line for neuropathic pain in MS?"
    ans = compose(q, hits_of([lines, NEURO]), query=q)
    assert_grounded(ans)
    assert ans.sections[0].sentences[0].text.startswith("Amitriptyline")
    # The first-line exception to "a statement about another drug" is the question's own:
    # a follow-up about one drug does not pull in every first-line statement.
    q2 = C._parse_query("any concern with amitriptyline?", "any concern with amitriptyline? (context: first-line)")
    assert not q2.asks_first_line


def test_same_fact_in_two_passages_is_said_once_and_cites_both():
    q = "max tizanidine dose?"
    ans = compose(q, hits_of([SPAS, TIZ]), query=q)
    dose = [s for sec in clinical_sections(ans) for s in sec.sentences if "36 mg" in s.text]
    assert len(dose) == 1 and len(dose[0].cites) == 2


def test_duplicate_hits_keep_one_number():
    q = "max tizanidine dose?"
    hits = hits_of([TIZ, SPAS]) + [Hit(chunk=TIZ, score=0.001, rank=3, dense_score=0.5)]
    ans = compose(q, hits, query=q)
    assert_grounded(ans)
    assert [c.chunk_id for c in ans.citations].count(TIZ.chunk_id) == 1


# --------------------------------------------------------------------------- audience

def test_patient_answer_prefers_plain_language_and_drops_doses():
    ans = compose(SEED, hits_of(ALL), query=SEED, audience="patient")
    assert_grounded(ans)
    assert ans.audience == "patient"
    texts = [s.text for sec in clinical_sections(ans) for s in sec.sentences]
    assert not any(re.search(r"\d+\s*mg", t) for t in texts)
    cited_docs = {c.doc_id for c in ans.citations}
    assert "ms-back-pain-patient-guide" in cited_docs
    plain = {GUIDE.chunk_id, FORPAT.chunk_id}
    assert {c.chunk_id for c in ans.citations} <= plain
    assert ans.sections[0].kind == "bottom_line" and ans.sections[0].heading == "In short"
    assert not any(s.kind in ("algorithm", "pitfalls") for s in ans.sections)


def test_plain_language_follow_up_selects_patient_sections():
    q = "what about for a patient?"
    cq = "What about for a patient? (context: treatment, back pain, multiple sclerosis)"
    assert question_breadth(q) == "broad"
    ans = compose(q, hits_of(ALL), query=cq)
    assert_grounded(ans)
    assert {c.chunk_id for c in ans.citations} <= {GUIDE.chunk_id, FORPAT.chunk_id}
    assert "How can I explain this to a patient?" not in ans.suggestions


def test_patient_dose_question_leaves_numbers_out():
    q = "max tizanidine dose?"
    ans = compose(q, hits_of([SPAS, TIZ, GUIDE]), query=q, audience="patient")
    texts = [s.text for sec in clinical_sections(ans) for s in sec.sentences]
    assert texts and not any(re.search(r"\d+\s*mg", t) for t in texts)


# --------------------------------------------------------------------------- out of scope

def test_off_topic_question_is_out_of_scope_and_cites_nothing():
    q = "What is the capital of France?"
    hits = hits_of([GUIDE, PITS, NEURO], dense=0.05)
    ans = compose(q, hits, query=q, covered_topics=[MS_TITLE, SPAS_TITLE])
    assert ans.out_of_scope
    assert ans.citations == ()
    assert all(not s.cites for sec in ans.sections for s in sec.sentences)
    assert "does not cover" in ans.markdown
    assert MS_TITLE in ans.markdown and SPAS_TITLE in ans.markdown
    assert ans.hits == tuple(hits)


def test_out_of_scope_without_covered_topics_names_retrieved_documents():
    ans = compose("Who won the match?", hits_of([GUIDE, TIZ], dense=0.1))
    assert ans.out_of_scope and GUIDE_TITLE in ans.markdown


def test_no_hits_is_out_of_scope():
    ans = compose("max tizanidine dose?", [])
    assert ans.out_of_scope and ans.citations == ()


def test_dense_threshold_is_the_gate():
    q = "max tizanidine dose?"
    just_above = hits_of([TIZ], dense=C.MIN_DENSE_SCORE + 0.02)
    assert not compose(q, just_above, query=q).out_of_scope
    # Below the rescue floor even a clinical query is out of scope.
    far_below = [Hit(TIZ, 0.1, 1, dense_score=C.RESCUE_DENSE_SCORE - 0.05)]
    assert compose(q, far_below, query=q).out_of_scope


def test_lexical_support_decides_without_dense_scores():
    q = "max tizanidine dose?"
    no_dense = [Hit(TIZ, 0.1, 1), Hit(SPAS, 0.05, 2)]
    assert not compose(q, no_dense, query=q).out_of_scope
    assert compose("capital of France?", no_dense).out_of_scope


# --------------------------------------------------------------------------- passages -> sentences

def test_markdown_bodies_are_split_and_cleaned():
    c = chunk("doc-x", "Doc X", "Section", """
### Inner heading
Intro line that leads into a list:
- **Baclofen** is used for spasticity in multiple sclerosis.
- Tizanidine is an alternative for spasticity, e.g. when baclofen is not tolerated. Liver tests are needed.
| table | row |
1. Step one of the algorithm for spasticity.
""".strip())
    texts = [s.text for s in C._sentences(c)]
    assert "Baclofen is used for spasticity in multiple sclerosis." in texts
    assert "Tizanidine is an alternative for spasticity, e.g. when baclofen is not tolerated." in texts
    assert "Liver tests are needed." in texts
    assert not any(t.startswith(("Inner heading", "Intro line", "|")) or "**" in t for t in texts)
    step = [s for s in C._sentences(c) if s.step == 1]
    assert step and step[0].heading == "Inner heading"


def test_sentence_split_is_cached_per_chunk():
    first = C._sentences(TIZ)
    assert C._sentences(TIZ) is first


# --------------------------------------------------------------------------- suggestions, speed

def test_suggestions_come_from_unused_sections():
    q = "does he need imaging?"
    img = chunk("imaging", "Imaging for low back pain", "When to image urgently", """
Urgent MRI is needed when red flags suggest cauda equina syndrome or spinal cord compression in multiple sclerosis.
Routine imaging is not needed for back pain in multiple sclerosis without red flags.
""".strip())
    ans = compose(q, hits_of([img, TIZ, BACLOFEN_DOSE, PITS]), query=q)
    assert 2 <= len(ans.suggestions) <= 4
    assert all(s.endswith("?") and s != q for s in ans.suggestions)
    assert "What is the maximum dose of tizanidine?" in ans.suggestions
    assert not any("imaging" in s.lower() for s in ans.suggestions)  # already answered


def test_expand_hits_reads_grouped_passages_like_a_flat_list():
    # The pipeline passes ServingIndex.by_doc (grouped once per version); same result as the list.
    by_doc: dict = {}
    for c in sorted(ALL, key=lambda c: c.start):
        by_doc.setdefault(c.doc_id, []).append(c)
    for q, hits in ((SEED, hits_of([KEY, PITS, GUIDE])), ("max tizanidine dose?", hits_of([TIZ, KEY]))):
        assert expand_hits(q, hits, by_doc) == expand_hits(q, hits, ALL)


# --------------------------------------------------------------------------- broad-question expansion

def test_expand_hits_adds_the_leading_guidelines_sections():
    corpus = ALL
    retrieved = hits_of([KEY, PITS, GUIDE])
    out = expand_hits(SEED, retrieved, corpus)
    ids = [h.chunk.chunk_id for h in out]
    assert ids[:3] == [h.chunk.chunk_id for h in retrieved]
    assert {SPAS.chunk_id, ALGO.chunk_id, SECOND.chunk_id} <= set(ids)
    assert GUIDE.chunk_id in ids and ids.count(GUIDE.chunk_id) == 1
    assert TIZ.chunk_id not in ids  # another document
    assert [h.rank for h in out] == list(range(1, len(out) + 1))
    narrow = expand_hits("max tizanidine dose?", retrieved, corpus)
    assert narrow == tuple(retrieved)


def test_expand_hits_adds_sub_sections_of_a_retrieved_parent():
    parent = chunk("ms-back-pain", MS_TITLE, "First-line drug treatment",
                   "First-line drug treatment is chosen according to the pain mechanisms present.")
    corpus = [parent, SPAS, MSK, NONDRUG, TIZ]
    out = expand_hits("first-line for musculoskeletal back pain in MS?", hits_of([parent, TIZ]), corpus)
    ids = [h.chunk.chunk_id for h in out]
    assert ids[:2] == [parent.chunk_id, TIZ.chunk_id]
    assert set(ids[2:]) == {SPAS.chunk_id, MSK.chunk_id}  # its sub-sections, nothing else
    ans = compose("first-line for musculoskeletal back pain in MS?", out)
    assert "NSAIDs" in ans.markdown


def test_expand_hits_adds_the_treatment_sections_of_a_mechanism_asked_about():
    # "burning leg pain" retrieves the description of neuropathic pain; the sections named
    # after it elsewhere in the document say how to treat it.
    neuro_tx = chunk("ms-back-pain", MS_TITLE, "First-line drug treatment > Neuropathic component",
                     "A tricyclic antidepressant such as amitriptyline is first-line treatment for burning "
                     "dysesthesias in multiple sclerosis.\nGabapentin or pregabalin is an alternative.")
    corpus = [KEY, NEURO, SPAS, MSK, neuro_tx, TIZ]
    q = "what about his burning leg pain that's worse at night?"
    query = q + " (context: treatment, back pain, multiple sclerosis)"
    out = expand_hits(q, hits_of([NEURO, KEY]), corpus, query=query)
    ids = [h.chunk.chunk_id for h in out]
    assert ids == [NEURO.chunk_id, KEY.chunk_id, neuro_tx.chunk_id]  # not the spasticity or MSK sections
    ans = compose(q, out, query=query)
    assert "amitriptyline" in ans.markdown.split("\n\n", 1)[0]  # the bottom line
    assert "Gabapentin or pregabalin" in ans.markdown
    # Without a mechanism in the question nothing is added by name.
    assert expand_hits("and the dose?", hits_of([NEURO, KEY]), corpus) == tuple(hits_of([NEURO, KEY]))


def test_a_statement_about_the_drugs_class_answers_a_question_about_the_drug():
    sciatica = chunk("sciatica-radicular-pain", "Sciatica", "Drug treatment",
                     "NSAIDs have limited evidence of benefit for sciatica.\n"
                     "NICE advises against gabapentinoids for sciatica because harms outweigh the unproven benefit.")
    gaba = chunk("ms-spasticity", SPAS_TITLE, "First-line drugs > Gabapentin",
                 "Gabapentin is an alternative or add-on to baclofen for spasticity in multiple sclerosis.\n"
                 "Gabapentin is useful for painful spasms at night.")
    q = "Is gabapentin effective for sciatica?"
    ans = compose(q, hits_of([gaba, sciatica]), query=q)
    bottom = ans.markdown.split("\n\n", 1)[0]
    assert "advises against gabapentinoids for sciatica" in bottom, bottom


def test_side_effect_questions_are_answered_by_named_effects():
    itb = chunk("ms-spasticity", SPAS_TITLE, "Intrathecal baclofen",
                "Intrathecal baclofen is considered for severe spasticity that does not respond to oral drugs "
                "or causes intolerable side effects.")
    oral = chunk("ms-spasticity", SPAS_TITLE, "First-line drugs > Baclofen",
                 "Baclofen is started at 5 mg three times a day.\n"
                 "Baclofen commonly causes drowsiness, dizziness, nausea and muscle weakness.")
    q = "What are the side effects of baclofen?"
    ans = compose(q, hits_of([itb, oral]), query=q)
    bottom = ans.markdown.split("\n\n", 1)[0]
    assert bottom.startswith("**Bottom line:** Baclofen commonly causes drowsiness"), bottom


def test_a_combination_question_is_answered_by_the_statement_about_both_drugs():
    combo = chunk("ms-neuropathic-pain", "Neuropathic pain in MS", "Combination therapy",
                  "A tricyclic antidepressant combined with gabapentin is a common combination.\n"
                  "Duloxetine should not be combined with a tricyclic antidepressant without specialist advice.")
    choice = chunk("ms-neuropathic-pain", "Neuropathic pain in MS", "Choosing an initial drug",
                   "Amitriptyline, duloxetine, gabapentin or pregabalin can each be offered as the initial drug.\n"
                   "Amitriptyline is started at 10 mg at night.")
    q = "can she take duloxetine with amitriptyline?"
    query = q + " (context: dose and titration, first-line treatment, neuropathic pain, multiple sclerosis)"
    ans = compose(q, hits_of([choice, combo]), query=query)
    bottom = ans.markdown.split("\n\n", 1)[0]
    assert bottom.startswith("**Bottom line:** Duloxetine should not be combined"), bottom


def test_a_population_no_passage_mentions_is_out_of_scope_and_named():
    q = "back pain in pregnancy, what's safe?"
    ans = compose(q, hits_of([MSK, NONDRUG]), query=q)
    assert ans.out_of_scope and not ans.citations
    assert "Nothing in it addresses pregnancy." in ans.markdown
    # The same question about a population the passages do mention is answered.
    ckd = chunk("analgesics", "NSAIDs", "Who should avoid them",
                "NSAIDs should be avoided in people with chronic kidney disease.")
    ans2 = compose("NSAIDs in kidney disease?", hits_of([ckd, MSK]), query="NSAIDs in kidney disease?")
    assert not ans2.out_of_scope and "chronic kidney disease" in ans2.markdown


def test_a_question_opening_with_a_condition_no_passage_names_is_out_of_scope():
    inj = chunk("nondrug", "Injections", "Steroid injections",
                "Epidural steroid injections may be considered for acute sciatica; heat and insoles are other options.")
    q = "Plantar fasciitis 8 months, tried insoles and stretches. Is a steroid injection or shockwave better?"
    ans = compose(q, hits_of([inj, NONDRUG]), query=q)
    assert ans.out_of_scope and "Nothing in it addresses Plantar fasciitis." in ans.markdown, ans.markdown
    # An opening that is not a condition ("Office worker, ...") leaves the question in scope.
    q2 = "Office worker, 3 weeks of sciatica. Is a steroid injection worth it?"
    assert not compose(q2, hits_of([inj, NONDRUG]), query=q2).out_of_scope


# --------------------------------------------------------------------------- real model and index

@pytest.mark.integration
def test_seed_question_and_off_topic_with_real_retrieval(real_assistant):
    a = real_assistant
    index = a.searcher.index()
    hits = expand_hits(SEED, a.searcher.search(SEED, a.settings.top_k).hits, index.chunks)
    ans = compose(SEED, hits, query=SEED, covered_topics=index.titles(("approved",)))
    assert_grounded(ans)
    assert not ans.out_of_scope and len(ans.citations) >= 5
    text = ans.markdown.lower()
    for term in ("neuropathic", "spasticity", "musculoskeletal", "nsaid", "baclofen",
                 "physiotherapy", "second-line", "red flag", "opioids are reserved"):
        assert term in text, term
    france = "What is the capital of France?"
    res = a.searcher.search(france, a.settings.top_k)
    off = compose(france, res.hits, query=france, covered_topics=index.titles(("approved",)))
    assert off.out_of_scope and off.citations == ()
    assert max(h.dense_score for h in res.hits if h.dense_score is not None) < C.MIN_DENSE_SCORE


@pytest.mark.integration
def test_every_citation_resolves_over_the_eval_set(real_assistant):
    """Every [n] of every grounded answer to the shipped eval set points at a retrieved passage."""
    import json
    from pathlib import Path

    from assistant.condense import condense
    from assistant.records import Turn

    a = real_assistant
    index = a.searcher.index()
    covered = index.titles(("approved",))
    rows = [json.loads(line) for line in
            (Path(__file__).resolve().parent.parent / "evals" / "sets" / "core.jsonl").read_text().splitlines()
            if line.strip()]
    assert len(rows) > 50
    for r in rows:
        history = [Turn(t["role"], t["content"]) for t in r.get("conversation", [])]
        audience = r.get("audience", "clinician")
        query = condense(r["question"], history)
        hits = expand_hits(r["question"], a.searcher.search(query, a.settings.top_k).hits, index.chunks,
                           audience=audience)
        ans = compose(r["question"], hits, query=query, audience=audience, covered_topics=covered)
        assert_grounded(ans)
        if r["expect"].get("out_of_scope"):
            assert ans.out_of_scope and ans.citations == (), r["id"]
        elif r["category"] != "adversarial":
            assert not ans.out_of_scope, r["id"]


@pytest.mark.integration
@pytest.mark.parametrize("follow_up,drug", [
    ("and the painful spasms in his legs?", r"baclofen|tizanidine"),
    ("what about his burning leg pain that's worse at night?", r"amitriptyline|gabapentin|pregabalin"),
])
def test_a_follow_up_naming_a_mechanism_leads_with_how_to_treat_it(real_assistant, follow_up, drug):
    # In a conversation about treatment, "what about <a kind of pain>?" asks how to treat it:
    # the bottom line names the drug, not only a description of the pain.
    history = [{"role": "user", "content": SEED},
               {"role": "assistant", "content": "Back pain in MS mixes mechanisms; each is treated differently."}]
    ans = real_assistant.answer(follow_up, history)
    bottom = ans.markdown.split("\n\n", 1)[0]
    assert bottom.startswith("**Bottom line:**") and re.search(drug, bottom, re.I), bottom


# --------------------------------------------------------------------------- the patient's comorbidities

NEURO_DRUGS = chunk("ms-neuropathic-pain", "Neuropathic pain in multiple sclerosis", "Choosing an initial drug", """
Amitriptyline, duloxetine, gabapentin or pregabalin can be offered as initial treatment for neuropathic pain.
Amitriptyline is usually started at 10 mg at night and increased slowly.
Duloxetine is usually given at 60 mg once daily for neuropathic pain.
Gabapentin is started at 300 mg on the first day and increased in steps to an effective dose.
Pregabalin is started at 75 mg twice a day.
Each drug should be given an adequate trial before it is judged to have failed.
""".strip())
NEURO_RENAL = chunk("ms-neuropathic-pain", "Neuropathic pain in multiple sclerosis", "Renal dose adjustment", """
Gabapentin and pregabalin doses must be reduced when creatinine clearance is below 60 mL/min.
""".strip())


def test_a_comorbidity_named_about_the_patient_brings_the_guidance_about_it():
    hits = hits_of([NEURO_DRUGS, NEURO, KEY, SPAS, MSK, NONDRUG, SECOND, NEURO_RENAL])
    q = ("68F, MS for 20 years, CKD stage 3b, on ramipril. Burning feet for months, worse at night. "
         "Which drug would you start for the foot pain and how?")
    ans = compose(q, hits, query=q)
    assert_grounded(ans)
    assert "creatinine clearance is below 60 mL/min" in ans.markdown
    # The same case without the kidney disease does not get the renal statement.
    q2 = "68F, MS for 20 years. Burning feet for months, worse at night. Which drug would you start for the foot pain and how?"
    assert "creatinine clearance" not in compose(q2, hits, query=q2).markdown
    # A written age of 65 or more puts the patient among older adults, named or not.
    assert C._patient_factors(q, ()) == ["older_adult", "renal"] and C._patient_factors(q2, ()) == ["older_adult"]
    assert C._patient_factors(q.replace("68F", "48F"), ()) == ["renal"]
    # A measured kidney function of 60 or more is not kidney impairment.
    assert C._patient_factors("48F, eGFR 72, burning feet. Which drug?", ()) == []
    assert C._patient_factors("48F, eGFR 38, burning feet. Which drug?", ()) == ["renal"]


def test_a_drug_caution_for_the_patients_own_comorbidity_leads_the_answer():
    nsaid = chunk("analgesics", "NSAIDs and acetaminophen", "NSAIDs: who should avoid them", """
NSAIDs give better relief of back pain than acetaminophen and are the first-line drug for musculoskeletal pain.
Ibuprofen is typically given at 400 mg three times daily, with a maximum of 2.4 g per day.
NSAIDs should be avoided in people taking anticoagulants because bleeding risk rises sharply.
""".strip())
    hits = hits_of([nsaid, MSK, KEY])
    q = ("71M with AF on warfarin, INR stable. Mechanical low back pain for 3 weeks, buying ibuprofen over the "
         "counter. What would you prescribe for his back?")
    bottom = compose(q, hits, query=q).sections[0]
    assert bottom.kind == "bottom_line"
    assert "anticoagulants" in bottom.sentences[0].text
    # Without the anticoagulant the caution does not lead.
    q2 = q.replace("with AF on warfarin, INR stable", "fit and well")
    assert "anticoagulants" not in compose(q2, hits, query=q2).sections[0].sentences[0].text


def test_a_sentence_about_the_question_in_meaning_is_chosen_by_the_model():
    # The question describes tonic spasms without naming them; only the model's vectors
    # connect it to the sentence that answers it.
    q = "Her leg locks into a painful cramp for a minute, ten times a day. What helps the leg?"
    tonic = chunk("ms-pain", "Pain in MS", "Paroxysmal symptoms",
                  "Paroxysmal tonic spasms usually respond to carbamazepine.")
    other = chunk("ms-pain", "Pain in MS", "Leg pain",
                  "A cramp in the leg is common.")
    hits = hits_of([other, tonic])

    def vectors(texts):
        # A fake model: the question and the tonic-spasm sentence point the same way.
        out = {}
        for t in texts:
            v = np.zeros(3, dtype=np.float32)
            v[0 if (t == q or "tonic" in t) else 1] = 1.0
            out[t] = v
        return out

    without = compose(q, hits, query=q)
    with_model = compose(q, hits, query=q, vectors=vectors)
    first = lambda a: a.markdown.split("\n\n", 1)[0].split("[", 1)[0]  # noqa: E731  (the bottom line's first sentence)
    assert "carbamazepine" not in first(without), first(without)
    assert "carbamazepine" in first(with_model), first(with_model)


def test_a_statement_about_another_pain_mechanism_yields_to_one_about_the_mechanism_asked(monkeypatch):
    import dataclasses

    from assistant.compose import score as S
    from assistant.request import understand

    tn = chunk("ms-neuro", "Neuropathic pain in MS", "Trigeminal neuralgia",
               "Oxcarbazepine is an alternative to carbamazepine for trigeminal neuralgia.")
    legs = chunk("ms-neuro", "Neuropathic pain in MS", "Combination therapy",
                 "A tricyclic is an alternative or add-on for neuropathic pain that responds only partly to gabapentin.")
    q = "She's on gabapentin with partial relief of her neuropathic pain. Alternative?"
    query = C._parse_query(q, q, understand(q, []))
    assert query.mechanisms == {"neuropathic"}

    def scores():
        return {c.sent.text.split()[0]: c.score for c in S.score_all(query, hits_of([tn, legs]), "clinician", None)}

    damped = scores()
    monkeypatch.setattr(S, "WEIGHTS", dataclasses.replace(S.WEIGHTS, other_mechanism=1.0))
    plain = scores()
    assert damped["Oxcarbazepine"] == pytest.approx(plain["Oxcarbazepine"] * C.WEIGHTS.other_mechanism)
    assert damped["A"] == pytest.approx(plain["A"])  # the mechanism asked about is not damped


def test_expand_hits_adds_an_asked_section_from_any_retrieved_document():
    # "How fast should I wean?" retrieves the opioid guideline only low down; its tapering
    # section answers the question.
    op_title = "Opioid prescribing"
    reserve = chunk("opioids", op_title, "Key recommendations",
                    "Opioids are reserved for severe, disabling pain uncontrolled by other measures.")
    taper = chunk("opioids", op_title, "Tapering and stopping",
                  "Opioids taken for a year or longer are tapered by about 10% per month or slower.")
    others = [KEY, NEURO, SPAS, MSK, NONDRUG]
    corpus = others + [reserve, taper]
    q = "Patient on oxycodone for 3 years wants to cut down. How fast should I wean?"
    out = expand_hits(q, hits_of(others + [reserve]), corpus)
    assert taper.chunk_id in [h.chunk.chunk_id for h in out]
    unrelated = expand_hits("What is the maximum dose of tizanidine?", hits_of(others + [reserve]), corpus)
    assert taper.chunk_id not in [h.chunk.chunk_id for h in unrelated]


def test_expand_hits_adds_what_the_guidance_says_about_a_patient_factor():
    # A vignette's comorbidity (kidney impairment) that no retrieved passage mentions brings the
    # passage that does, so the answer can say it and the question is not declined for it.
    kidney = chunk("analgesics", "NSAIDs", "Who should avoid them",
                   "NSAIDs should be avoided in people with chronic kidney disease.")
    corpus = ALL + [kidney]
    q = "Older man with MS and chronic kidney disease, aching back. What analgesia?"
    out = expand_hits(q, hits_of([KEY, MSK]), corpus)
    assert kidney.chunk_id in [h.chunk.chunk_id for h in out]
    plain = expand_hits("Older man with MS, aching back. What analgesia?", hits_of([KEY, MSK]), corpus)
    assert kidney.chunk_id not in [h.chunk.chunk_id for h in plain]
