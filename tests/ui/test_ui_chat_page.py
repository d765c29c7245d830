"""Chat page (AppTest): cited answers with openable sources, red-flag banner, opioid notice,
follow-ups, feedback into the audit log, audience, clear messages instead of tracebacks."""

from __future__ import annotations

import pytest
from uikit import CAUDA_EQUINA, SEED_QUESTION, app_env, new_app, texts

from assistant.audit import AuditLog
from ui import views


def _ask(at, question: str):
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def _last_answer(at):
    msg = at.session_state["messages"][-1]
    assert msg["role"] == "assistant" and "answer" in msg, msg
    return msg["answer"]


def _all_markdown(block) -> list:
    return list(block.markdown) + [m for e in block.expander for m in e.markdown]


# ---------------------------------------------------------------- fast: no model needed
def test_missing_index_says_how_to_build_it(monkeypatch, empty_settings):
    app_env(monkeypatch, empty_settings)
    at = new_app().run()
    assert not at.exception
    errors = texts(at.error)
    assert any("guideline ingest" in e and "make run" in e for e in errors), errors
    assert at.chat_input[0].proto.disabled


# ---------------------------------------------------------------- with the real model and index
@pytest.mark.integration
def test_seed_question_gives_a_cited_answer_whose_sources_open(monkeypatch, ui_index):
    app_env(monkeypatch, ui_index)
    at = new_app().run()
    assert not at.exception
    _ask(at, SEED_QUESTION)
    ans = _last_answer(at)
    assert ans.citations and not ans.safety.escalated

    user, bot = at.chat_message[0], at.chat_message[1]
    assert user.name == "user" and bot.name == "assistant"
    assert views.escape_markdown(SEED_QUESTION) in texts(user.markdown)
    shown = "\n".join(m.value for m in bot.markdown)
    assert "[1]" in shown and ans.markdown.splitlines()[0][:40] in shown

    # one expander per citation, "[n] Title — Section", holding the exact passage and its metadata
    assert [e.label for e in bot.expander] == [views.source_label(c) for c in ans.citations]
    for exp, c in zip(bot.expander, ans.citations):
        assert exp.label.startswith(f"[{c.n}] ")
        assert views.quote_block(c.text) in texts(exp.markdown)
        meta = " ".join(texts(exp.caption))
        assert f"Version {views.escape_markdown(c.version)}" in meta and views.escape_markdown(c.last_reviewed) in meta

    # the corpus version in the sidebar is the one that answered
    assert any(ans.corpus_version in c for c in texts(at.sidebar.caption))
    # follow-up suggestions are buttons
    labels = [b.label for b in bot.button]
    assert all(s in labels for s in ans.suggestions) and ans.suggestions
    # no markdown element may render raw HTML
    assert not any(m.proto.allow_html for m in at.markdown)


@pytest.mark.integration
def test_cauda_equina_vignette_shows_the_red_banner_above_the_answer(monkeypatch, ui_index):
    app_env(monkeypatch, ui_index)
    at = _ask(new_app().run(), CAUDA_EQUINA)
    ans = _last_answer(at)
    assert ans.safety.escalated and any(r.category == "cauda_equina" for r in ans.safety.red_flags)
    bot = at.chat_message[1]
    banner = bot.error[0].value
    assert "Possible cauda equina syndrome" in banner
    for rf in ans.safety.red_flags:
        assert f"“{views.escape_markdown(rf.trigger.strip())}”" in banner
    # the banner is the first thing in the answer bubble
    first = next(iter(bot.children.values()))
    assert first.type == "error" and first.value == banner


@pytest.mark.integration
def test_opioid_rule_notice_is_visible(monkeypatch, ui_index):
    app_env(monkeypatch, ui_index)
    at = _ask(new_app().run(), "Can I start oxycodone for MS back pain?")
    ans = _last_answer(at)
    assert ans.safety.opioid_rule_applied
    assert any("Opioid rule applied" in w for w in texts(at.chat_message[1].warning))


@pytest.mark.integration
def test_follow_up_button_asks_it_with_the_conversation_and_new_conversation_resets(monkeypatch, ui_index):
    app_env(monkeypatch, ui_index)
    at = _ask(new_app().run(), SEED_QUESTION)
    first = _last_answer(at)
    suggestion = first.suggestions[0]
    next(b for b in at.chat_message[1].button if b.label == suggestion).click().run()
    assert not at.exception
    msgs = at.session_state["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert msgs[2]["content"] == suggestion and "answer" in msgs[3]
    # only the newest answer offers follow-ups
    assert not any(b.label in first.suggestions for b in at.chat_message[1].button if b.label != "Send feedback")

    at.sidebar.button[0].click().run()
    assert len(at.chat_message) == 0 and at.session_state["messages"] == []


@pytest.mark.integration
def test_feedback_with_comment_is_stored_in_the_audit_log(monkeypatch, ui_index):
    app_env(monkeypatch, ui_index)
    at = _ask(new_app().run(), SEED_QUESTION)
    ans = _last_answer(at)
    assert ans.audit_id is not None
    bot = at.chat_message[1]
    bot.feedback[0].set_value(0)  # thumbs down
    bot.text_input[0].set_value("Missing the NSAID dose.")
    next(b for b in bot.button if b.label == "Send feedback").click().run()
    assert not at.exception
    row = next(r for r in AuditLog(ui_index).tail(10) if r["id"] == ans.audit_id)
    assert row["feedback"][0]["rating"] == "down" and row["feedback"][0]["comment"] == "Missing the NSAID dose."
    assert any("Feedback recorded" in c for c in texts(at.chat_message[1].caption))


@pytest.mark.integration
def test_patient_audience_is_used(monkeypatch, ui_index):
    app_env(monkeypatch, ui_index)
    at = new_app().run()
    at.sidebar.radio[0].set_value("patient").run()
    ans = _last_answer(_ask(at, SEED_QUESTION))
    assert ans.audience == "patient"
    assert any("for patients" in c for c in texts(at.chat_message[1].caption))


@pytest.mark.integration
def test_empty_oversized_and_html_input_get_plain_messages(monkeypatch, ui_index):
    app_env(monkeypatch, ui_index)
    at = _ask(new_app().run(), "   ")
    assert any("empty" in w for w in texts(at.chat_message[1].warning))
    _ask(at, "back pain " * (ui_index.max_turn_chars // 10 + 5))
    limit = f"{ui_index.max_turn_chars:,}"
    assert any(limit in w for w in texts(at.chat_message[-1].warning))
    # failed questions are not sent as history
    assert views.history_for(at.session_state["messages"]) == []

    _ask(at, "<img src=x onerror=alert(1)> back pain in MS treatment")
    user_md = texts(at.chat_message[-2].markdown)
    assert "\\<img src\\=x onerror\\=alert\\(1\\)\\>" in user_md[0]
    assert not any(m.proto.allow_html for m in at.markdown)


@pytest.mark.integration
def test_unreachable_chroma_server_gives_a_plain_sentence(monkeypatch, ui_index, top_conftest):
    free_port = top_conftest.free_port
    app_env(monkeypatch, ui_index)
    monkeypatch.setenv("GUIDELINE_CHROMA_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("GUIDELINE_CHROMA_RETRIES", "0")
    at = _ask(new_app().run(), SEED_QUESTION)
    msg = at.session_state["messages"][-1]
    assert msg.get("failed") and "did not answer" in msg["error"]
    assert any("did not answer" in e for e in texts(at.chat_message[-1].error))
