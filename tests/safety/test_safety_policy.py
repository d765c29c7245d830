"""The policy file: loading, validation, and that a reviewer's edit changes behaviour."""

from __future__ import annotations

import os

import pytest
import yaml
from safety_helpers import policy  # noqa: F401  (fixture)

from assistant.records import RED_FLAG_CATEGORIES, Turn
from assistant.safety import DEFAULT_POLICY_PATH, check_input, load_policy, parse_policy
from assistant.safety.policy import expand_phrase
from core.errors import ConfigError

RAW = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")


def edited(mutate) -> str:
    data = yaml.safe_load(RAW)
    mutate(data)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def test_default_policy_is_complete(policy):
    assert policy.version == str(yaml.safe_load(RAW)["version"])
    assert [c.id for c in policy.categories] == list(RED_FLAG_CATEGORIES)
    for cat in RED_FLAG_CATEGORIES:
        assert any(r.category == cat for r in policy.rules), cat
        assert policy.category(cat).actions
    assert load_policy() is load_policy()  # cached


def test_expand_phrase():
    assert expand_phrase("(saddle|perineal) (numbness|anaesthesia)") == [
        "saddle numbness", "saddle anaesthesia", "perineal numbness", "perineal anaesthesia"]
    assert expand_phrase("numb (|the) (bottom|groin (area|))") == [
        "numb bottom", "numb groin area", "numb groin", "numb the bottom", "numb the groin area", "numb the groin"]
    with pytest.raises(ConfigError, match="unbalanced"):
        expand_phrase("(saddle|perineal numbness")


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("version"), "missing 'version'"),
    (lambda d: d["categories"].update({"gout": d["categories"]["fracture"]}), "unknown red-flag categories"),
    (lambda d: d["rules"][0]["all_of"].append(["no_such_finding"]), "unknown finding 'no_such_finding'"),
    (lambda d: d["rules"][0].update({"category": "gout"}), "category 'gout'"),
    (lambda d: d["findings"]["fever"]["phrases"].append("saddle anaesthesia"), "listed under both"),
    (lambda d: d["findings"]["fever"].update({"kind": "symptom"}), "kind 'symptom'"),
    (lambda d: d["findings"]["fever"].update({"ignore_in": ["sarcastic"]}), "unknown contexts"),
    (lambda d: d["placeholders"].update({"num": "(["}), "invalid regex"),
    (lambda d: d["context"].pop("family"), "context is missing"),
    (lambda d: d["context"]["negated"].update({"base": "klingon"}), "not a negspacy termset"),
    (lambda d: d["escalation"].update({"quote_template": "Red flag"}), "quote_template"),
])
def test_invalid_policy_is_refused_with_a_message_naming_the_problem(mutate, message):
    with pytest.raises(ConfigError, match=message):
        parse_policy(edited(mutate), "edited.yaml")


def test_a_reviewer_edit_changes_behaviour_without_code(policy):
    """Add a phrase, raise the version: the new wording escalates and the version is traced."""
    conv = [Turn("user", "He says his bottom feels like cardboard since this morning.")]
    assert not check_input(conv, policy).escalated

    def mutate(d):
        d["version"] = "2099.1.0"
        d["findings"]["saddle_anaesthesia"]["phrases"].append("(bottom|bum) feels like cardboard")

    p2 = parse_policy(edited(mutate), "reviewed.yaml")
    v = check_input(conv, p2)
    assert v.escalated and v.red_flags[0].category == "cauda_equina"
    assert v.policy_version == "2099.1.0"
    assert {r.policy_version for r in v.rules_fired} == {"2099.1.0"}


def test_combinations_live_in_the_policy(policy):
    """Removing the sign-only infection rule leaves only 'sign + risk factor' escalating."""
    fever_only = [Turn("user", "Back pain and a fever of 38.5.")]
    fever_dmt = [Turn("user", "On ocrelizumab, back pain and a fever of 38.5.")]
    assert check_input(fever_only, policy).escalated

    p2 = parse_policy(edited(lambda d: d.update(
        {"rules": [r for r in d["rules"] if r["id"] != "infection_systemic_sign"]})))
    assert not check_input(fever_only, p2).escalated
    v = check_input(fever_dmt, p2)
    assert v.escalated and any(r.rule_id == "redflag.infection_sign_with_risk_factor" for r in v.rules_fired)


def test_load_policy_rereads_an_edited_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(RAW, encoding="utf-8")
    first = load_policy(path)
    path.write_text(edited(lambda d: d.update({"version": "9.9.9"})), encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))
    second = load_policy(path)
    assert (first.version, second.version) == (yaml.safe_load(RAW)["version"], "9.9.9")
    with pytest.raises(ConfigError, match="does not exist"):
        load_policy(tmp_path / "missing.yaml")


def test_every_sentence_the_policy_can_insert_obeys_the_opioid_rule(policy):
    from assistant.safety import complies

    op = policy.opioids
    texts = [op.statement, op.pressure_sentence, op.alternatives_sentence,
             op.pressure_notice, policy.escalation.secondary_notice, *policy.escalation.fallback_actions]
    for cat in policy.categories:
        texts += [*cat.actions, policy.escalation.quote_template.format(label=cat.label, quotes="x")]
    for t in texts:
        assert complies(t, policy), t
    assert complies(op.statement, policy) and "reserved" in op.statement
