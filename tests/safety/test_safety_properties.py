"""Property-based tests (hypothesis) of the two rules.

(a) Whatever answer text mentions opioids, the enforced answer obeys the reservation rule.
(b) Whatever the conversation, an un-negated red-flag phrase inserted anywhere escalates, and the
    enforced answer opens with the escalation block.
The checks below are written independently of the implementation (plain substring tests).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safety_helpers import (NSAID, POISON, RED_FLAG_CES, RESERVATION, all_sentences, hits_of,  # noqa: F401
                            make_answer, policy)

from assistant.records import Citation, SafetyVerdict, Section, Sentence, Turn
from assistant.safety import check_input, enforce

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

OPIOIDS = ["tramadol", "Tramadol", "oxycodone", "codeine", "morphine", "fentanyl patches", "buprenorphine",
           "tapentadol", "OxyContin", "Percocet", "Vicodin", "Tylenol #3", "a weak opioid", "opioids",
           "hydrocodone", "methadone", "co-codamol", "Nucynta", "Ultram", "Butrans"]
PREDICATES = [
    "is the first-line treatment for back pain",
    "should be the default choice for sciatica",
    "is routinely offered after NSAIDs",
    "is a good first choice for acute pain",
    "can be used for a few days",
    "helps many patients with chronic back pain",
    "is not addictive when taken for pain",
    "is safe for long-term use",
    "is reserved for severe, disabling pain uncontrolled by other measures because of misuse and addiction risk",
    "may be considered at the lowest dose",
    "should be tapered slowly when stopped",
]
OTHER = ["NSAIDs are the first drug choice for acute low back pain.", "Stay active and avoid bed rest.",
         "Heat can ease muscle spasm.", "Physiotherapy helps chronic pain."]
# A sentence that only cautions about opioid use may stay as written (the full rule is then
# stated, as a sentence of its own, before it); anything else naming an opioid must carry the
# full reservation framing itself.
CAUTION_WORDS = ["tapered", "taper", "avoid", "do not", "should not", "never", "not recommended"]
FIRST_LINE_WORDS = ["first-line", "first line", "default", "routinely", "first choice", "not addictive",
                    "safe for long-term"]
opioid_words = [w.lower() for w in OPIOIDS]

filler = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=0, max_size=25).map(lambda s: " ".join(s.split()))


@st.composite
def opioid_sentence(draw):
    subject = draw(st.sampled_from(OPIOIDS))
    pred = draw(st.sampled_from(PREDICATES))
    pre = draw(filler)
    text = f"{pre + ', ' if pre else ''}{subject} {pred}."
    return text[0].upper() + text[1:]


@st.composite
def answers(draw):
    sections = []
    for i in range(draw(st.integers(1, 3))):
        sents = draw(st.lists(st.one_of(opioid_sentence(), st.sampled_from(OTHER)), min_size=1, max_size=4))
        cites = [(draw(st.integers(1, 2)),) for _ in sents]
        sections.append(Section(f"Part {i}", tuple(Sentence(t, c) for t, c in zip(sents, cites))))
    with_reservation = draw(st.booleans())
    hits = (POISON, NSAID) + ((RESERVATION,) if with_reservation else ())
    cits = (Citation.from_chunk(1, POISON), Citation.from_chunk(2, NSAID))
    requested = draw(st.booleans())
    verdict = SafetyVerdict(policy_version="test", opioid_requested=requested)
    return make_answer(sections, cits, hits_of(*hits), verdict), with_reservation


def says_opioid(text: str) -> bool:
    low = text.lower()
    return any(w in low for w in opioid_words)


@SETTINGS
@given(answers())
def test_enforced_answer_always_obeys_the_opioid_rule(policy, case):
    answer, with_reservation = case
    out = enforce(answer, answer.safety, policy)
    res_n = next((c.n for c in out.citations if c.chunk_id == RESERVATION.chunk_id), None)
    known = {c.n for c in out.citations}
    rule_stated = False
    for s in all_sentences(out):
        assert set(s.cites) <= known
        if not says_opioid(s.text):
            continue
        low = s.text.lower()
        assert not any(w in low for w in FIRST_LINE_WORDS), s.text
        framed = "reserved for severe, disabling pain" in low and any(w in low for w in ("misuse", "abuse", "addiction"))
        if framed:
            rule_stated = rule_stated or low.startswith("opioids")
            continue
        assert any(w in low for w in CAUTION_WORDS), s.text  # a caution, never an offer
        assert rule_stated, f"caution before the rule was stated: {s.text}"
        if with_reservation and s.text.lower().startswith("opioids"):
            assert res_n in s.cites
    # numbers of surviving citations never change
    before = {c.chunk_id: c.n for c in answer.citations}
    for c in out.citations:
        if c.chunk_id in before:
            assert before[c.chunk_id] == c.n
    if answer.safety.opioid_requested:
        assert out.sections[0].heading == policy.opioids.notice_heading
    if not with_reservation and out.safety.opioid_rule_applied:
        assert "opioid_reservation_uncited" in out.flags


NEUTRAL = [
    "Back pain for two weeks after moving house.",
    "No fever. No weight loss.",
    "Denies bladder or bowel problems.",
    "What analgesia would you suggest?",
    "Mother had breast cancer.",
    "He works as a builder and is keen to get back to work.",
    "Paracetamol did not help much.",
    "Is physiotherapy worth trying?",
    "She takes ocrelizumab for MS.",
    "Long-standing bladder urgency from MS, stable for years.",
]
TRIGGERS = [
    ("He now has saddle anaesthesia.", "cauda_equina"),
    ("She has new urinary retention.", "cauda_equina"),
    ("He reports new faecal incontinence.", "cauda_equina"),
    ("Her foot drop is getting worse.", "progressive_neuro_deficit"),
    ("He has a fever of 38.9 and rigors.", "infection"),
    ("She has a history of breast cancer and new thoracic back pain.", "malignancy"),
    ("He has osteoporosis and sudden severe back pain.", "fracture"),
]


@st.composite
def conversations(draw):
    n = draw(st.integers(1, 5))
    turns = []
    for i in range(n):
        role = "user" if i % 2 == 0 else "assistant"
        body = draw(st.lists(st.one_of(st.sampled_from(NEUTRAL), filler.filter(bool).map(lambda s: s + ".")),
                             min_size=1, max_size=4))
        turns.append([role, body])
    trigger, category = draw(st.sampled_from(TRIGGERS))
    user_turns = [t for t in turns if t[0] == "user"]
    target = draw(st.sampled_from(user_turns))
    pos = draw(st.integers(0, len(target[1])))
    target[1].insert(pos, trigger)
    sep = draw(st.sampled_from([" ", "\n", "\n\n"]))
    return [Turn(role, sep.join(body)) for role, body in turns], trigger, category


@SETTINGS
@given(conversations())
def test_un_negated_trigger_anywhere_escalates_and_comes_first(policy, case):
    turns, trigger, category = case
    v = check_input(turns, policy)
    assert v.escalated, (turns, v.rules_fired)
    assert category in {r.category for r in v.red_flags}
    answer = make_answer([Section("Bottom line", (Sentence("Stay active.", (1,)),), kind="bottom_line")],
                         [Citation.from_chunk(1, NSAID)], hits_of(NSAID, RED_FLAG_CES), v)
    out = enforce(answer, v, policy)
    assert out.sections[0].kind == "escalation"
    assert out.markdown.startswith("> **Urgent")
