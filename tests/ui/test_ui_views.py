"""Pure layout helpers of the UI: escaping, banner text, source labels, history, delays."""

from __future__ import annotations

import re

import pytest

from assistant.records import Answer, Citation, RedFlag, SafetyVerdict
from ui import views

CIT = Citation(2, "ms-back-pain:abc", "ms-back-pain", "Back pain in multiple sclerosis",
               "Back pain in multiple sclerosis > Treatment > Spasticity component", "3.1", "approved",
               "2026-09-15", "Baclofen or tizanidine is first-line.\nTitrate slowly.")


def _answer(markdown="Body [1]\n\nMore", **safety) -> Answer:
    return Answer(question="q", markdown=markdown, sections=(), citations=(CIT,),
                  safety=SafetyVerdict("p1", **safety))


def _unescape(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>", "![x](http://example.org/a.png)", "costs $5 and $6",
    "# heading *bold* _it_ [link](http://x) `code` | table |", ":red[colour] :material/home:",
    "a\\b", "&amp; &lt;",
])
def test_escape_markdown_escapes_every_markup_character_and_round_trips(text):
    out = views.escape_markdown(text)
    assert _unescape(out) == text
    # no markup character is left without its backslash
    bare = out.replace("\\\\", "")
    assert not re.search(r"(?<!\\)[<>\[\]()*_`#$|!&]", bare)
    assert not re.search(r"(?<!\\):(?=\S)", bare)  # ':red[', ':material/...:' shortcodes


def test_quote_block_keeps_lines_and_escapes():
    out = views.quote_block("Line one <b>.\n\n- item two")
    lines = out.splitlines()
    assert lines[0] == "> Line one \\<b\\>\\.  "
    assert lines[1] == ">"
    assert lines[2] == "> \\- item two"  # no trailing break at the end


def test_safe_answer_markdown_neutralises_latex_and_images_only():
    md = "### Treatment\n- Costs $5 a day [1]\n- ![x](http://e/x.png) **bold**"
    out = views.safe_answer_markdown(md)
    assert "\\$5" in out and "!\\[x]" in out
    assert out.startswith("### Treatment\n- Costs") and "**bold**" in out and "[1]" in out
    assert views.safe_answer_markdown(out) == out  # idempotent


def test_escalation_banner_names_category_and_trigger_without_repeats():
    ans = _answer(escalated=True, red_flags=(
        RedFlag("cauda_equina", "saddle anaesthesia"), RedFlag("cauda_equina", "urinary retention"),
        RedFlag("cauda_equina", "saddle anaesthesia")))
    banner = views.escalation_banner(ans)
    assert banner.count("saddle anaesthesia") == 1 and banner.count("cauda equina") == 1
    assert "Possible cauda equina syndrome: “saddle anaesthesia”, “urinary retention”" in banner
    assert views.escalation_banner(_answer()) is None


def test_escalation_banner_escapes_the_quoted_trigger():
    ans = _answer(escalated=True, red_flags=(RedFlag("fracture", "fell <b>hard</b> [x](y)"),))
    banner = views.escalation_banner(ans)
    assert "<b>" not in banner and "\\<b\\>" in banner and "\\[x\\]\\(y\\)" in banner


def test_opioid_notice_only_when_rule_applied():
    assert views.opioid_notice(_answer()) is None
    assert "Opioid rule applied" in views.opioid_notice(_answer(opioid_rule_applied=True))


def test_source_label_and_meta():
    assert views.source_label(CIT) == "[2] Back pain in multiple sclerosis — Spasticity component"
    meta = views.source_meta(CIT)
    assert "Version 3\\.1" in meta and "Approved" in meta and "2026\\-09\\-15" in meta


def test_stream_pieces_rebuild_the_markdown():
    md = "**Bottom line:** a [1]\n\n### Treatment\n- b [2]\n\n_disclaimer_\n"
    pieces = list(views.stream_pieces(md))
    assert len(pieces) == 3
    assert "".join(pieces).strip() == md.strip()


def test_history_skips_failed_exchanges_and_uses_answer_markdown():
    ok = _answer("Answer text [1]")
    msgs = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "answer": ok},
        {"role": "user", "content": "   ", "failed": True},
        {"role": "assistant", "error": "The question is empty.", "failed": True},
        {"role": "user", "content": "second"},
    ]
    assert views.history_for(msgs) == [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "Answer text [1]"},
        {"role": "user", "content": "second"},
    ]


def test_login_delay_doubles_and_is_capped():
    assert [views.login_delay(n) for n in range(0, 7)] == [0.0, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_category_rows_and_chart_values_follow_the_summary():
    summary = {"categories": {"core": {"cases": 4, "passed": 3, "failed": 1, "pass_rate": 0.75},
                              "red_flag": {"cases": 2, "passed": 0, "failed": 2, "pass_rate": 0.0}}}
    assert views.pass_rate_by_category(summary) == {"core": 75.0, "red_flag": 0.0}
    rows = views.category_rows(summary)
    assert rows[0]["Pass rate"] == "75.0%" and rows[1]["Failed"] == 2
