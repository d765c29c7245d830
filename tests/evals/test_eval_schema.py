"""Test-set loading: good sets load; every kind of malformed line is refused naming line and field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.records import RED_FLAG_CATEGORIES
from core.errors import AssistantError
from evals.checks import normalize
from evals.schema import CATEGORIES, EvalSetError, load_set, parse_lines

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "evals" / "sets" / "core.jsonl"

GOOD = {"id": "a1", "category": "core", "question": "max tizanidine dose?",
        "expect": {"facts": [["36 mg", "36mg"]], "sources": ["ms-spasticity#Tizanidine"], "must_cite": True}}


def write(tmp_path, lines) -> Path:
    p = tmp_path / "set.jsonl"
    p.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return p


def refuse(tmp_path, lines) -> EvalSetError:
    with pytest.raises(EvalSetError) as ei:
        load_set(write(tmp_path, lines))
    return ei.value


def test_good_set_loads_with_defaults(tmp_path):
    conv = {**GOOD, "id": "a2", "conversation": [{"role": "user", "content": "seed"},
                                                {"role": "assistant", "content": "reply"}],
            "audience": "patient"}
    cases = load_set(write(tmp_path, [GOOD, "", conv]))
    assert [c.id for c in cases] == ["a1", "a2"]
    a, b = cases
    assert a.audience == "clinician" and a.conversation == () and a.expect.escalate is None
    assert a.expect.facts == (("36 mg", "36mg"),)
    assert b.audience == "patient"
    assert [(t.role, t.content) for t in b.history()] == [("user", "seed"), ("assistant", "reply")]


def test_error_is_an_assistant_error(tmp_path):
    err = refuse(tmp_path, ["{not json"])
    assert isinstance(err, AssistantError)


def test_bad_json_names_the_line(tmp_path):
    err = refuse(tmp_path, [GOOD, "", '{"id": "x", "category": "core",'])
    assert err.line == 3
    assert "line 3" in str(err) and "not valid JSON" in str(err)


@pytest.mark.parametrize("mutate, field, words", [
    (lambda c: c.pop("question"), "question", "required"),
    (lambda c: c.update(bogus=1), "bogus", "not a known field"),
    (lambda c: c["expect"].update(typo=True), "expect.typo", "not a known field"),
    (lambda c: c["expect"].update(escalate="yes"), "expect.escalate", "boolean"),
    (lambda c: c["expect"].update(facts="36 mg"), "expect.facts", "array"),
    (lambda c: c["expect"].update(facts=[["36 mg"], []]), "expect.facts", "no alternatives"),
    (lambda c: c["expect"].update(red_flags=["cauda"]), "expect.red_flags", "cauda"),
    (lambda c: c["expect"].update(sources=["MS back pain"]), "expect.sources", "doc_id"),
    (lambda c: c.update(id=7), "id", "string"),
    (lambda c: c.update(audience="nurse"), "audience", "nurse"),
    (lambda c: c.update(conversation=[{"role": "bot", "content": "hi"}]), "conversation[0].role", "bot"),
    (lambda c: c.update(conversation=[{"role": "user"}]), "conversation[0].content", "required"),
    (lambda c: c.pop("expect"), "expect", "required"),
])
def test_malformed_case_names_line_and_field(tmp_path, mutate, field, words):
    bad = json.loads(json.dumps(GOOD))
    bad["id"] = "a9"
    mutate(bad)
    err = refuse(tmp_path, [GOOD, bad])
    assert err.line == 2
    assert err.field == field
    assert f"line 2: field '{field}'" in str(err)
    assert words in str(err)


def test_contradictory_expectation_is_refused(tmp_path):
    bad = {**GOOD, "expect": {"escalate": False, "red_flags": ["infection"]}}
    err = refuse(tmp_path, [bad])
    assert err.line == 1 and err.field == "expect" and "escalate is false" in str(err)


def test_duplicate_id_names_both_lines(tmp_path):
    err = refuse(tmp_path, [GOOD, {**GOOD, "id": "b"}, GOOD])
    assert err.line == 3 and err.field == "id" and "line 1" in str(err)


def test_non_object_line(tmp_path):
    err = refuse(tmp_path, [GOOD, "[1, 2]"])
    assert err.line == 2 and "JSON object" in str(err)


def test_empty_and_missing_files(tmp_path):
    assert "no cases" in str(refuse(tmp_path, ["", "  "]))
    with pytest.raises(EvalSetError, match="file not found"):
        load_set(tmp_path / "nope.jsonl")


def test_parse_lines_counts_blank_lines():
    with pytest.raises(EvalSetError) as ei:
        parse_lines(["", "", json.dumps({**GOOD, "expect": {"must_cite": "yes"}})], path="x.jsonl")
    assert ei.value.line == 3 and str(ei.value).startswith("x.jsonl, line 3")


def test_describe_reads_as_plain_words():
    from evals.schema import Expect

    e = Expect(escalate=True, red_flags=("cauda_equina",), facts=(("36 mg", "36mg"),), opioid_rule=True)
    text = " ".join(e.describe())
    assert "cauda equina" in text and "'36 mg' or '36mg'" in text and "reserved" in text


# --- the shipped set -------------------------------------------------------


def _corpus() -> tuple[dict[str, str], dict[str, list[str]]]:
    texts, heads = {}, {}
    for f in sorted((ROOT / "corpus").glob("*.md")):
        if f.name == "README.md":
            continue
        raw = f.read_text(encoding="utf-8")
        status = re.search(r"^status:\s*(\S+)", raw, re.M).group(1)
        if status != "approved":
            continue
        body = raw.split("---", 2)[2]
        texts[f.stem] = body
        heads[f.stem] = re.findall(r"^#{1,3}\s+(.+?)\s*$", body, re.M)
    return texts, heads


def test_shipped_set_is_large_and_covers_every_category():
    cases = load_set(SHIPPED)
    assert len(cases) >= 100
    by_cat = {}
    for c in cases:
        by_cat.setdefault(c.category, []).append(c)
    assert set(CATEGORIES) <= set(by_cat)
    assert all(len(by_cat[c]) >= 8 for c in CATEGORIES)
    for c in by_cat["red_flag"]:
        assert c.expect.escalate is True and c.expect.red_flags, c.id
    for c in by_cat["no_red_flag"]:
        assert c.expect.escalate is False, c.id
    for c in by_cat["out_of_scope"]:
        assert c.expect.out_of_scope is True, c.id
    assert all(c.conversation for c in by_cat["follow_up"])
    assert all(c.audience == "patient" for c in by_cat["patient_audience"])
    # red flags stated in earlier turns, and every red-flag category exercised
    assert any(c.conversation for c in by_cat["red_flag"])
    assert {f for c in by_cat["red_flag"] for f in c.expect.red_flags} == set(RED_FLAG_CATEGORIES)
    assert any(c.expect.opioid_rule for c in by_cat["adversarial"])


def test_shipped_set_gold_sources_and_facts_exist_in_the_served_corpus():
    texts, heads = _corpus()
    everything = normalize(" ".join(texts.values()))
    problems = []
    for c in load_set(SHIPPED):
        for s in c.expect.sources:
            doc, _, section = s.partition("#")
            if doc not in texts:
                problems.append(f"{c.id}: {doc} is not an approved corpus document")
            elif section and not any(section.lower() in h.lower() for h in heads[doc]):
                problems.append(f"{c.id}: {s} names no heading of {doc}")
        for alts in c.expect.facts:
            if not any(normalize(a) in everything for a in alts):
                problems.append(f"{c.id}: no alternative of {alts} is stated in the corpus")
    assert problems == []
