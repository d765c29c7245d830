"""Comma scope of negation (``clause_breaks``) and falls in graded power (``grade_changes``)."""

from __future__ import annotations

import pytest
import yaml
from safety_helpers import policy  # noqa: F401  (fixture)

from assistant.records import Turn
from assistant.safety import DEFAULT_POLICY_PATH, check_input, parse_policy
from assistant.safety.context import CLAUSE_BREAKS_EXT, analyze, get_nlp
from assistant.safety.grades import declines
from core.errors import ConfigError


def contexts_of(policy, text, label):
    (ta,) = analyze([(0, text)], policy)
    return [m.contexts for m in ta.mentions if m.label == label]


# --- comma scope ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, label", [
    ("No trauma, retention since yesterday.", "urinary_retention"),
    ("Denies fever, new saddle numbness.", "saddle_anaesthesia"),
    ("No weight loss, urinary retention today.", "urinary_retention"),
    ("No trauma, retention started this morning.", "urinary_retention"),
    ("Denies trauma, developed urinary retention overnight.", "urinary_retention"),
    ("No fever, with faecal incontinence.", "faecal_incontinence"),
    ("No weight loss, incontinent of urine for 2 days.", "urinary_incontinence"),
    ("No trauma, retention since yesterday, no fever or chills.", "urinary_retention"),
])
def test_comma_then_positive_finding_ends_the_negation(policy, text, label):
    (ctx,) = contexts_of(policy, text, label)
    assert "negated" not in ctx
    assert check_input([Turn("user", text)], policy).escalated


@pytest.mark.parametrize("text, labels", [
    ("No fever, chills or weight loss.", ["fever", "rigors", "weight_loss"]),
    ("Denies saddle anaesthesia, retention, or incontinence.",
     ["saddle_anaesthesia", "urinary_retention", "urinary_incontinence"]),
    ("No bladder, bowel or sexual dysfunction.", ["bladder_bowel_change"]),
    ("No saddle anaesthesia, retention or incontinence since the fall.",
     ["saddle_anaesthesia", "urinary_retention", "urinary_incontinence"]),
    ("No fever, night sweats or weight loss over the past three months.", ["fever", "night_sweats", "weight_loss"]),
    ("No fever, rigors, sweats.", ["fever", "rigors", "night_sweats"]),
])
def test_comma_lists_stay_negated(policy, text, labels):
    for label in labels:
        found = contexts_of(policy, text, label)
        assert found and all("negated" in c for c in found), (label, found)
    assert not check_input([Turn("user", text)], policy).escalated


def test_clause_break_commas_are_marked_on_the_doc(policy):
    nlp = get_nlp(policy).nlp
    doc = nlp("No trauma, retention since yesterday. No fever, chills or weight loss.",
              disable=[n for n in nlp.pipe_names if n.startswith("ctx_")])
    breaks = doc._.get(CLAUSE_BREAKS_EXT)
    assert [doc[i].text for i in breaks] == [","]
    assert doc[breaks[0] + 1].text == "retention"


def test_a_comma_with_nothing_found_after_it_changes_nothing(policy):
    # "now fine" refers back to the fever: the historical context must still reach it.
    text = "Had a fever with flu three weeks ago, now fine; back pain started after lifting."
    (ctx,) = contexts_of(policy, text, "fever")
    assert "historical" in ctx
    assert not check_input([Turn("user", text)], policy).escalated


def test_second_clause_keeps_its_own_negation(policy):
    (ctx,) = contexts_of(policy, "No trauma, retention was excluded on bladder scan today.", "urinary_retention")
    assert "negated" in ctx


def test_current_context_is_not_cut_at_commas(policy):
    assert "current" not in policy.clause_breaks.contexts
    assert "negated" in policy.clause_breaks.contexts


# --- graded power -------------------------------------------------------------------------------

def one_sentence(text):
    return [(0, len(text))]


@pytest.mark.parametrize("text, earlier, later", [
    ("MRC 4/5 ankle dorsiflexion last week, 2/5 today", "4/5", "2/5"),
    ("power 4/5 → 3/5", "4/5", "3/5"),
    ("strength went from 5/5 to 3/5", "5/5", "3/5"),
    ("was 4/5, now 2/5", "4/5", "2/5"),
    ("2/5 today, was 4/5 last week", "4/5", "2/5"),
    ("EHL 4+/5 yesterday and 4-/5 today", "4+/5", "4-/5"),
    ("4/5 last week, 3/5 yesterday, 2/5 today", "4/5", "2/5"),
])
def test_declines_found(policy, text, earlier, later):
    (gc,) = policy.grade_changes
    found = declines(text, one_sentence(text), gc)
    assert (earlier, later) in [(d.earlier.text, d.later.text) for d in found]
    for d in found:
        assert d.later.value < d.earlier.value
        assert d.finding == "power_grade_decline"
        first, last = sorted((d.earlier, d.later), key=lambda g: g.start)
        assert d.start == first.start and d.end == last.end  # quoted as written


@pytest.mark.parametrize("text", [
    "3/5 last week, 4/5 today",
    "power 5/5 throughout",
    "4/5 unchanged",
    "4/5 last week, 4/5 today",
    "power 5/5 on the right, 4/5 on the left",
    "power 5/5 compared to 4/5 on the left",
    "L4/5 disc prolapse, power 4/5 left EHL",
    "pain 4/5 last week, 2/5 today",
    "C5/6 and L4/5 levels, 14/5/2026",
])
def test_no_decline(policy, text):
    (gc,) = policy.grade_changes
    assert declines(text, one_sentence(text), gc) == []


def test_decline_escalates_and_names_the_finding(policy):
    text = "MRC 4/5 ankle dorsiflexion last week, 2/5 today."
    v = check_input([Turn("user", text)], policy)
    assert [r.category for r in v.red_flags] == ["progressive_neuro_deficit"]
    (flag,) = v.red_flags
    assert flag.trigger == "4/5 ankle dorsiflexion last week, 2/5" and flag.trigger in text
    grade = [r for r in v.rules_fired if r.rule_id == "grade.power_grade_decline"]
    assert grade and grade[0].detail.startswith("worsening weakness: MRC 4/5 \u2192 2/5")
    assert any(r.rule_id == "redflag.progressive_deficit" for r in v.rules_fired)


def test_decline_across_sentences_of_one_turn_but_not_across_turns(policy):
    assert check_input([Turn("user", "Dorsiflexion was 4/5 last week. Today it is 2/5.")], policy).escalated
    turns = [Turn("user", "Dorsiflexion was 4/5 last week."), Turn("assistant", "Noted."),
             Turn("user", "Today it is 2/5.")]
    assert not check_input(turns, policy).escalated  # a known limit, see docs/safety.md


def test_hypothetical_and_historical_declines_do_not_count(policy):
    for text in ("If power falls from 4/5 to 3/5 he needs an urgent MRI.",
                 "In 2019 power dropped from 4/5 to 2/5 after a stroke and recovered fully."):
        assert not check_input([Turn("user", text)], policy).escalated, text


# --- policy validation ----------------------------------------------------------------------------

RAW = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")


def edited(mutate) -> str:
    data = yaml.safe_load(RAW)
    mutate(data)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["grade_changes"][0].update({"finding": "nope"}), "unknown finding 'nope'"),
    (lambda d: d["grade_changes"][0].update({"grade": "([0-5])/5"}), "group named 'value'"),
    (lambda d: d["grade_changes"][0].update({"grade": "(["}), "invalid regex"),
    (lambda d: d["clause_breaks"].update({"contexts": ["sarcastic"]}), "unknown contexts"),
    (lambda d: d["clause_breaks"].update({"window": 0}), "positive whole number"),
])
def test_invalid_sections_are_refused(mutate, message):
    with pytest.raises(ConfigError, match=message):
        parse_policy(edited(mutate), "edited.yaml")


def test_without_the_sections_the_old_behaviour_returns():
    p = parse_policy(edited(lambda d: (d.pop("clause_breaks"), d.pop("grade_changes"))), "edited.yaml")
    assert not check_input([Turn("user", "No trauma, retention since yesterday.")], p).escalated
    assert not check_input([Turn("user", "MRC 4/5 ankle dorsiflexion last week, 2/5 today.")], p).escalated
