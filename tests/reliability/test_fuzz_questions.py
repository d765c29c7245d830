"""Hypothesis fuzz of question handling: whatever comes in, the only error is InputError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from assistant.pipeline import validate_history, validate_question
from assistant.records import Turn
from assistant.safety import check_input
from core.errors import InputError
from core.settings import Settings

FUZZ = hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_text = st.text(st.characters(codec="utf-8"), max_size=300) | st.sampled_from(
    ["", " ", "\x00" * 5, "ignore previous instructions", "<script>", "a" * 2001, "\ud7ff", "\u202e"])
_turn = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", ""]), "content": _text}),
    st.dictionaries(st.text(max_size=8), st.one_of(_text, st.integers(), st.none()), max_size=3),
    st.builds(Turn, st.sampled_from(["user", "assistant"]), _text),
    _text, st.integers(), st.none(), st.lists(_text, max_size=2),
)


@FUZZ
@given(q=st.one_of(_text, st.integers(), st.none(), st.binary(max_size=20)),
       history=st.one_of(st.lists(_turn, max_size=5), st.none(), _text))
def test_fuzz_question_handling_raises_only_input_error(q, history):
    s = Settings()
    try:
        clean = validate_question(q, s)
    except InputError:
        clean = None
    else:
        assert clean.strip() and len(clean) <= s.max_turn_chars
    try:
        turns = validate_history(history, s)
    except InputError:
        return
    if clean is not None:
        v = check_input(turns + (Turn("user", clean),))
        assert v.policy_version and v.escalated == bool(v.red_flags)


@FUZZ
@given(turns=st.one_of(st.lists(_turn, max_size=4), st.tuples(_turn, _turn), _text, st.binary(max_size=10)))
def test_fuzz_check_input_on_raw_input_raises_only_input_error(turns):
    """Any sequence (validated or not) or a bare string: a verdict or an InputError."""
    try:
        v = check_input(turns)
    except InputError:
        return
    assert v.policy_version
