"""Chat (home page): ask the guidance, read a cited answer, open the passages behind it."""

from __future__ import annotations

import logging

import streamlit as st

from assistant.records import AUDIENCES, Answer
from core.errors import AssistantError, InputError
from ui import resources, views

log = logging.getLogger("ui.chat")

EXAMPLES = (
    "What is the best approach for treating back pain in a patient with Multiple Sclerosis (MS)?",
    "First-line treatment for spasticity-related back pain in MS?",
    "When is imaging needed for acute low back pain?",
)
DISCLAIMER = ("Decision support drawn only from the cited guideline passages. It does not replace "
              "clinical judgement or local protocols; check each source before acting.")
AUDIENCE_HELP = "Clinician: full clinical detail. Patient: the same guidance in plain language."

state = st.session_state
state.setdefault("messages", [])
state.setdefault("next_id", 0)
state.setdefault("feedback_sent", {})


def _ask(question: str) -> None:
    # A button callback: the question is recorded before the page run that answers it starts.
    state.messages.append({"role": "user", "content": question, "id": _new_id()})


def _new_conversation() -> None:
    state.messages = []
    state.feedback_sent = {}


def _new_id() -> int:
    state.next_id += 1
    return state.next_id


# ---------------------------------------------------------------- rendering one answer
def _render_banners(ans: Answer) -> None:
    banner = views.escalation_banner(ans)
    if banner:
        st.error(banner, icon=":material/warning:")
    notice = views.opioid_notice(ans)
    if notice:
        st.warning(notice, icon=":material/medication:")


def _render_sources(ans: Answer) -> None:
    if not ans.citations:
        return
    st.markdown("**Sources**")
    for c in ans.citations:
        with st.expander(views.source_label(c)):
            st.markdown(views.quote_block(c.text))
            st.caption(views.source_meta(c))


def _render_suggestions(msg: dict) -> None:
    ans: Answer = msg["answer"]
    if not ans.suggestions:
        return
    st.markdown("**Follow-up questions**")
    for i, s in enumerate(ans.suggestions):
        st.button(s, key=f"sugg-{msg['id']}-{i}", on_click=_ask, args=(s,),
                  icon=":material/subdirectory_arrow_right:", type="tertiary")


def _render_feedback(msg: dict, audit) -> None:
    ans: Answer = msg["answer"]
    mid = msg["id"]
    sent = state.feedback_sent.get(mid)
    if sent:
        st.caption(f"Feedback recorded ({'helpful' if sent == 'up' else 'not helpful'}). Thank you.")
        return
    if audit is None or ans.audit_id is None:
        return
    with st.form(f"fb-{mid}", border=False, enter_to_submit=False):
        left, mid_col, right = st.columns([1.2, 5, 2], vertical_alignment="center")
        with left:
            rating = st.feedback("thumbs", key=f"fbr-{mid}")
        with mid_col:
            comment = st.text_input("Comment (optional)", key=f"fbc-{mid}", max_chars=2000,
                                    placeholder="Optional comment: what was wrong or missing?",
                                    label_visibility="collapsed")
        with right:
            send = st.form_submit_button("Send feedback", width="stretch")
    if send:
        if rating is None:
            st.warning("Choose thumbs up or thumbs down, then send.")
            return
        verdict = "up" if rating == 1 else "down"
        try:
            audit.feedback(ans.audit_id, verdict, comment or "")
        except AssistantError as e:
            st.error(str(e))
            return
        state.feedback_sent[mid] = verdict
        st.rerun()


def _render_footer(msg: dict, *, last: bool, audit) -> None:
    ans: Answer = msg["answer"]
    _render_sources(ans)
    if last:
        _render_suggestions(msg)
    _render_feedback(msg, audit)
    bits = [f"Corpus version {ans.corpus_version}" if ans.corpus_version else "",
            f"for {ans.audience}s", f"{ans.timings_ms.get('total', 0):.0f} ms"]
    st.caption(" · ".join(b for b in bits if b))


def _render_message(msg: dict, *, last: bool, audit) -> None:
    if msg["role"] == "user":
        with st.chat_message("user"):
            st.markdown(views.plain_block(msg["content"]))
        return
    with st.chat_message("assistant"):
        if msg.get("error"):
            (st.warning if msg.get("kind") == "input" else st.error)(msg["error"])
            return
        ans: Answer = msg["answer"]
        _render_banners(ans)
        st.markdown(views.safe_answer_markdown(ans.markdown))
        _render_footer(msg, last=last, audit=audit)


def _answer_now(question: str, assistant, audience: str) -> dict:
    """Answer the newest question in place (streamed) and return its message record."""
    history = views.history_for(state.messages[:-1])
    msg: dict = {"role": "assistant", "id": _new_id()}
    with st.chat_message("assistant"):
        ans = None
        with st.spinner("Searching the guidelines…"):
            try:
                ans = assistant.answer(question, history, audience, source="ui")
            except InputError as e:
                msg.update(error=str(e), kind="input", failed=True)
            except AssistantError as e:
                msg.update(error=str(e), kind="error", failed=True)
            except Exception:  # a bug: keep the traceback in the server log, not on screen
                log.exception("answer failed")
                msg.update(error="Something went wrong while answering; the details are in the "
                                 "server log. Please try again or rephrase the question.",
                           kind="error", failed=True)
        if ans is None:
            (st.warning if msg["kind"] == "input" else st.error)(msg["error"])
            state.messages[-1]["failed"] = True
            return msg
        msg["answer"] = ans
        # Safety already ran on the whole answer: the banner goes first, then the text streams.
        _render_banners(ans)
        st.write_stream(views.stream_pieces(views.safe_answer_markdown(ans.markdown)))
        _render_footer(msg, last=True, audit=assistant.audit)
    return msg


# ---------------------------------------------------------------- page
settings = resources.settings()
st.set_page_config(layout="centered")  # answers read best in a narrow column
assistant = resources.assistant(settings)

with st.sidebar:
    st.radio("Answers written for", AUDIENCES, key="audience", format_func=str.capitalize,
             horizontal=True, help=AUDIENCE_HELP)
    st.button("New conversation", on_click=_new_conversation, icon=":material/add_comment:",
              width="stretch")
    corpus_slot = st.empty()
    st.caption(DISCLAIMER)

st.title("Guideline assistant")
st.caption("Answers come only from the approved guideline corpus. Every statement carries a "
           "numbered citation you can open; red flags are escalated before anything else.")

index_ok = True
try:
    ix = assistant.searcher.index()
    corpus_slot.caption(f"Corpus version `{ix.version}` · {len(ix.documents())} documents")
    with st.spinner("Loading the guideline model…"):
        resources.warm(settings)
except AssistantError as e:
    index_ok = False
    corpus_slot.caption("No corpus version is serving.")
    st.error(str(e), icon=":material/error:")
except Exception as e:  # a bug or a broken install: one sentence here, the traceback in the log
    log.exception("warm-up failed")
    index_ok = False
    st.error(f"The assistant could not start ({type(e).__name__}: {str(e)[:200]}). "
             "The details are in the server log.", icon=":material/error:")

question = st.chat_input("Ask a clinical question about the guidance", disabled=not index_ok)
if question is not None:
    state.messages.append({"role": "user", "content": question, "id": _new_id()})

if not state.messages and index_ok:
    st.markdown("**Try a question**")
    for i, ex in enumerate(EXAMPLES):
        st.button(ex, key=f"example-{i}", on_click=_ask, args=(ex,), icon=":material/help:",
                  type="tertiary")

# The newest question is still unanswered when it was just asked, or when the run that was
# answering it got cut short by another click: answer it now.
last = state.messages[-1] if state.messages else None
unanswered = last is not None and last["role"] == "user" and not last.get("failed") and index_ok
shown = state.messages[:-1] if unanswered else state.messages
for i, m in enumerate(shown):
    _render_message(m, last=not unanswered and i == len(shown) - 1, audit=assistant.audit)

if unanswered:
    _render_message(last, last=False, audit=None)
    state.messages.append(_answer_now(last["content"], assistant, state.get("audience", "clinician")))
