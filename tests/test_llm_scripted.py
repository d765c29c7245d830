"""The LLM path against scripted chat models: every injected unsupported sentence is caught.

Scripted models are LangChain fakes (``SimpleChatModel`` subclasses that write their reply from
the prompt they are sent); hangs and HTTP 500 come from a small OpenAI-compatible server on
127.0.0.1, reached through the real ``ChatOpenAI`` client the product builds.
"""

from __future__ import annotations

import json
import re
import select
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from langchain_core.language_models.chat_models import SimpleChatModel

from assistant.llm import (
    CONDENSE_RULES,
    LLMError,
    LLMTimeout,
    answers_question,
    compose_with_llm,
    condense_checked,
    make_chat_model,
    renumber_citations,
)
from assistant.records import Answer, Citation, Hit, SafetyVerdict, Section, Sentence, Turn
from assistant.render import render
from assistant.support import SupportChecker, rewrite_problems
from core.settings import Settings
from ingest.records import Chunk

ROOT = Path(__file__).resolve().parent.parent
TITLE = "Spasticity in multiple sclerosis: management"


def chunk(i: int, heading: str, text: str, doc="ms-spasticity") -> Chunk:
    return Chunk(chunk_id=f"{doc}:{i:016d}", doc_id=doc, title=TITLE, section=f"{TITLE} > {heading}",
                 version="2.1", status="approved", last_reviewed="2026-08-05", start=i * 100,
                 end=i * 100 + len(text), text=text)


BACLOFEN = chunk(1, "Baclofen", "Baclofen is usually started at 5 mg three times a day and increased gradually.\n"
                 "The usual maximum dose of baclofen is 100 mg per day in UK practice.\n"
                 "Baclofen commonly causes drowsiness, dizziness, nausea and muscle weakness.")
TIZANIDINE = chunk(2, "Tizanidine", "Tizanidine is started at 2 mg at night and increased gradually.\n"
                   "Tizanidine is titrated to a maximum of 36 mg per day in three or four divided doses.\n"
                   "Liver function should be checked before and during tizanidine treatment.")
ACTIVE = chunk(3, "Physiotherapy and stretching",
               "Physiotherapy is the foundation of spasticity management in multiple sclerosis.\n"
               "Daily stretching of tight muscles helps maintain range of movement.")
HITS = [Hit(c, 1.0 / (60 + i), i, dense_score=0.7) for i, c in enumerate((BACLOFEN, TIZANIDINE, ACTIVE), 1)]
GOOD = "Tizanidine is titrated to a maximum of 36 mg per day in three or four divided doses"


class ScriptedChat(SimpleChatModel):
    """Writes each scripted sentence with the number of the passage that contains its needle
    (as a model would cite it); replies ``condensed`` to a follow-up rewrite request."""

    script: list = []
    """(sentence, needle) pairs; needle None cites [1]."""
    condensed: str = ""
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _call(self, messages, stop=None, run_manager=None, **kwargs) -> str:
        self.calls += 1
        system, human = messages[0].content, messages[-1].content
        if system.startswith(CONDENSE_RULES[:40]):
            return self.condensed
        passages = dict((int(n), body) for n, body in
                        re.findall(r"^\[(\d+)\] \([^\n]*\)\n(.*?)(?=^\[\d+\] \(|^Question:)", human, re.S | re.M))
        lines = []
        for sentence, needle in self.script:
            n = next((k for k, body in passages.items() if needle and needle in body), 1)
            lines.append(f"- {sentence} [{n}]")
        return "\n".join(lines)


@pytest.fixture
def check(fake_embedder):
    return SupportChecker(fake_embedder)


def answer_texts(ans: Answer) -> list[str]:
    return [s.text for sec in ans.sections for s in sec.sentences]


# --------------------------------------------------------------------------- unsupported sentences are dropped

INJECTED = {
    # The example: a tizanidine dose cited to the baclofen passage.
    "wrong_number_wrong_passage": ("The maximum dose of tizanidine is 300 mg per day.", "Baclofen is usually"),
    "wrong_number": ("Tizanidine is titrated to a maximum of 48 mg per day in three or four divided doses.",
                     "Tizanidine is titrated"),
    "wrong_drug": ("Baclofen is titrated to a maximum of 36 mg per day in three or four divided doses.",
                   "Tizanidine is titrated"),
    "negation_flipped": ("Liver function should not be checked before and during tizanidine treatment.",
                         "Liver function"),
    "generalisation": ("It has few side effects.", "Baclofen is usually"),
    "generalisation_named": ("Tizanidine is safe for all patients and works for every kind of spasticity.",
                             "Tizanidine is titrated"),
}


@pytest.mark.parametrize("case", sorted(INJECTED))
def test_injected_unsupported_sentence_is_dropped_and_flagged(case, check):
    bad, needle = INJECTED[case]
    model = ScriptedChat(script=[(bad, needle), (GOOD + ".", "Tizanidine is titrated")])
    ans = compose_with_llm("max tizanidine dose?", HITS, chat_model=model, support=check,
                           verdict=SafetyVerdict(policy_version="p"))
    texts = answer_texts(ans)
    assert bad not in texts and bad not in ans.markdown
    assert GOOD + "." in texts  # the supported sentence stays
    assert "unsupported_sentences_dropped" in ans.flags
    dropped = ans.llm_trace["support"]["dropped"]
    assert [d["sentence"] for d in dropped] == [bad] and dropped[0]["reasons"]
    assert ans.llm_trace["support"]["checked"] == 2
    # Only the passage the kept sentence cites is listed, as [1].
    assert [c.chunk_id for c in ans.citations] == [TIZANIDINE.chunk_id] and "[1]" in ans.markdown


def test_reasons_name_what_is_unsupported(check):
    r = check.check("The maximum dose of tizanidine is 300 mg per day.", [BACLOFEN.text])
    assert not r.supported
    assert any("'300 mg'" in x for x in r.reasons) and any("tizanidine" in x for x in r.reasons)
    flipped = check.check("Liver function should not be checked before and during tizanidine treatment.",
                          [TIZANIDINE.text])
    assert flipped.reasons == ("negation differs from the closest cited sentence",)
    assert check.check(GOOD + ".", [TIZANIDINE.text]).supported


def test_brand_names_and_units_are_canonicalised(check):
    p = "Pregabalin is titrated to a maximum of 600 milligrams per day in two or three divided doses."
    assert check.check("Pregabalin is titrated to a maximum of 600 mg per day in two or three divided doses.",
                       [p]).supported
    lyrica = check.check("Lyrica is titrated to a maximum of 600 mg per day in two or three divided doses.", [p])
    assert not any("drug" in x for x in lyrica.reasons)  # Lyrica is pregabalin
    duloxetine = check.check("Duloxetine is titrated to a maximum of 600 mg per day in two or three divided doses.", [p])
    assert any("drug 'Duloxetine'" in x for x in duloxetine.reasons)


def test_everything_unsupported_is_an_error_carrying_the_trace(check):
    model = ScriptedChat(script=[INJECTED["wrong_number"], INJECTED["generalisation"]])
    with pytest.raises(LLMError) as e:
        compose_with_llm("max tizanidine dose?", HITS, chat_model=model, support=check)
    assert e.value.reason == "unsupported"
    assert len(e.value.trace["support"]["dropped"]) == 2


def test_supported_but_off_the_question_is_not_an_answer(check):
    # Everything left is about baclofen; the question asks about tizanidine.
    model = ScriptedChat(script=[("The usual maximum dose of baclofen is 100 mg per day in UK practice.",
                                  "The usual maximum")])
    with pytest.raises(LLMError) as e:
        compose_with_llm("max tizanidine dose?", HITS, chat_model=model, support=check)
    assert e.value.reason == "not_addressed"


# --------------------------------------------------------------------------- condensation checked

HISTORY = [Turn("user", "What is the best approach for treating back pain in a patient with MS?"),
           Turn("assistant", "Baclofen or tizanidine for spasticity [1]. NSAIDs for musculoskeletal pain [2].")]


@pytest.mark.parametrize("question,rewrite,problem", [
    ("max tizanidine dose?", "What is the best approach for treating back pain in a patient with MS?", "tizanidine"),
    ("does he need imaging?", "The answer to this question would depend on the patient's symptoms", "imaging"),
    ("max dose?", "maximum pregabalin dose in multiple sclerosis", "adds 'pregabalin'"),
    ("can he still drive on it?", "tizanidine in multiple sclerosis", "'drive'"),
])
def test_bad_condensation_is_rejected_for_the_rule_based_one(question, rewrite, problem):
    model = ScriptedChat(condensed=rewrite)
    query, trace = condense_checked(question, HISTORY, "RULE-BASED QUERY", model)
    assert query == "RULE-BASED QUERY"
    assert trace["rule_based"] == "RULE-BASED QUERY" and trace["llm"] == rewrite
    assert trace["used"] == "rule_based" and problem in trace["rejected"]


def test_good_condensation_is_used():
    model = ScriptedChat(condensed="maximum tizanidine dose for spasticity in multiple sclerosis")
    query, trace = condense_checked("max tizanidine dose?", HISTORY, "rule", model)
    assert query == "maximum tizanidine dose for spasticity in multiple sclerosis" and trace["used"] == "llm"
    assert rewrite_problems("does he need imaging?", HISTORY, "imaging for back pain in multiple sclerosis") == []


# --------------------------------------------------------------------------- renumbering and "does it still answer"

def test_citations_are_renumbered_in_order_of_first_use():
    cits = tuple(Citation.from_chunk(n, c) for n, c in ((1, BACLOFEN), (2, TIZANIDINE), (3, ACTIVE)))
    secs = (Section("Bottom line", (Sentence("About tizanidine.", (3,)), Sentence("More.", (2, 3))), "bottom_line"),
            Section("", (Sentence("Disclaimer."),), "disclaimer"))
    ans = Answer(question="q", markdown=render(secs), sections=secs, citations=cits,
                 safety=SafetyVerdict(policy_version="p"), composer="llm:x")
    out = renumber_citations(ans)
    assert [(c.n, c.chunk_id) for c in out.citations] == [(1, ACTIVE.chunk_id), (2, TIZANIDINE.chunk_id)]
    assert [s.cites for s in out.sections[0].sentences] == [(1,), (1, 2)]
    assert "[3]" not in out.markdown and "[1]" in out.markdown


def test_reservation_statement_alone_does_not_answer_a_tizanidine_question():
    from assistant.safety import load_policy

    op = load_policy().opioids
    secs = (Section("Bottom line", (Sentence(op.statement, (1,)),), "bottom_line"),)
    ans = Answer(question="q", markdown=render(secs), sections=secs, citations=(),
                 safety=SafetyVerdict(policy_version="p"), composer="llm:x")
    assert not answers_question(ans, "max tizanidine dose?")
    secs2 = secs + (Section("Tizanidine", (Sentence(GOOD + ".", (2,)),), "body"),)
    assert answers_question(ans.with_(sections=secs2), "max tizanidine dose?")


# --------------------------------------------------------------------------- an OpenAI-compatible server that hangs or fails

class StubServer:
    """127.0.0.1 server speaking the OpenAI chat API: ``mode`` is 'hang', '500' or 'ok'."""

    def __init__(self, mode: str, reply: str = ""):
        self.mode, self.reply = mode, reply
        self.requests = 0
        self.disconnected = threading.Event()
        self.release = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real model servers do

            def log_message(self, *a):
                pass

            def do_POST(self):
                stub.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if stub.mode == "hang":
                    # Wait until the client gives up and closes the connection (or the test ends).
                    while not stub.release.is_set():
                        r, _, _ = select.select([self.connection], [], [], 0.05)
                        if r and self.connection.recv(1, socket.MSG_PEEK) == b"":
                            stub.disconnected.set()
                            return
                    return
                if stub.mode == "500":
                    body = json.dumps({"error": {"message": "model crashed", "type": "server_error"}}).encode()
                    self.send_response(500)
                else:
                    body = json.dumps({
                        "id": "c1", "object": "chat.completion", "created": 0, "model": "stub",
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": stub.reply}}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def openai_model(tmp_path, monkeypatch, base_url: str, deadline: float = 5.0):
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    return make_chat_model(Settings(data_dir=tmp_path, llm="openai:stub", llm_deadline_s=deadline))


def test_openai_client_never_retries_and_waits_no_longer_than_the_deadline(tmp_path, monkeypatch):
    m = openai_model(tmp_path, monkeypatch, "http://127.0.0.1:9/v1", deadline=5)
    assert m.max_retries == 0 and m.request_timeout == 5


def test_hang_is_cancelled_at_the_deadline_not_retried(tmp_path, monkeypatch, check):
    import time

    with StubServer("hang") as srv:
        model = openai_model(tmp_path, monkeypatch, srv.base_url)
        with pytest.raises(LLMTimeout):
            compose_with_llm("max tizanidine dose?", HITS, chat_model=model, support=check,
                             deadline=time.monotonic() + 5)
        # The request was cancelled: the client closed its connection, and made no other.
        assert srv.disconnected.wait(30)
        assert srv.requests == 1


def test_http_500_is_an_error_without_retries(tmp_path, monkeypatch, check):
    with StubServer("500") as srv:
        model = openai_model(tmp_path, monkeypatch, srv.base_url)
        with pytest.raises(LLMError) as e:
            compose_with_llm("max tizanidine dose?", HITS, chat_model=model, support=check)
        assert not isinstance(e.value, LLMTimeout) and "500" in str(e.value) or "InternalServerError" in str(e.value)
        assert srv.requests == 1


def test_server_reply_goes_through_the_support_check(tmp_path, monkeypatch, check):
    reply = f"- {GOOD} [2].\n- The maximum dose of tizanidine is 300 mg per day [1]."
    with StubServer("ok", reply) as srv:
        model = openai_model(tmp_path, monkeypatch, srv.base_url)
        ans = compose_with_llm("max tizanidine dose?", HITS, chat_model=model, support=check)
    assert answer_texts(ans)[0] == GOOD + "." and "300 mg" not in ans.markdown


def test_one_model_answers_several_questions_over_kept_alive_connections(tmp_path, monkeypatch, check):
    with StubServer("ok", f"- {GOOD} [2].") as srv:
        model = openai_model(tmp_path, monkeypatch, srv.base_url)
        answers = [compose_with_llm("max tizanidine dose?", HITS, chat_model=model, support=check)
                   for _ in range(3)]
        assert srv.requests == 3
    assert all(answer_texts(a)[0] == GOOD + "." for a in answers)


def test_process_exits_while_the_server_still_hangs(tmp_path):
    """The abandoned request must not keep the process alive (it used to exit only after
    the client's retries had run out in the background)."""
    code = f"""
import time
from assistant.llm import compose_with_llm, LLMTimeout, make_chat_model
from assistant.records import Hit
from assistant.support import SupportChecker
from core.settings import Settings
from ingest.records import Chunk
import numpy as np
class E:
    fingerprint = 'fake'
    def embed_documents(self, texts): return np.ones((len(texts), 4), np.float32)
c = Chunk(chunk_id='d:1', doc_id='d', title='T', section='T > S', version='1', status='approved',
          last_reviewed='2026-01-01', start=0, end=10, text='Tizanidine is titrated to 36 mg per day.')
m = make_chat_model(Settings(data_dir={str(tmp_path)!r}, llm='openai:stub', llm_deadline_s=5))
try:
    compose_with_llm('max tizanidine dose?', [Hit(c, 1.0, 1, dense_score=0.9)], chat_model=m,
                     support=SupportChecker(E()), deadline=time.monotonic() + 5)
except LLMTimeout:
    print('fell back')
"""
    with StubServer("hang") as srv:
        env = {"OPENAI_BASE_URL": srv.base_url, "OPENAI_API_KEY": "unused", "PYTHONPATH": str(ROOT),
               "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        # The server would hang until the test ends: the process must end on its own first.
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                              timeout=120, cwd=ROOT)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "fell back" in done.stdout
        assert srv.requests == 1


# --------------------------------------------------------------------------- through the pipeline (index on the fake embedder)

@pytest.fixture
def indexed(tmp_path, corpus_copy, fake_embedder):
    from conftest import make_settings

    from ingest.index import run_ingest

    def build(**kw):
        s = make_settings(tmp_path, corpus_copy, **kw)
        run_ingest(s, embedder=fake_embedder)
        return s
    return build


QUESTION_OPIOID_DOC = "max tizanidine dose, and what if tizanidine dose increases fail for spasticity pain?"


def add_opioid_first_document(corpus: Path) -> None:
    """A (bad) guideline document presenting an opioid as first-line, which the safety layer
    must drop whatever cites it."""
    (corpus / "zz-test-opioid.md").write_text(
        "---\nid: zz-test-opioid\ntitle: \"Test: opioids for spasticity pain\"\nversion: \"1.0\"\n"
        "status: approved\nlast_reviewed: 2026-01-01\nsources:\n  - \"test\"\n---\n\n"
        "# Test: opioids for spasticity pain\n\n## Key recommendations\n\n"
        "Oxycodone is the first-line option when tizanidine dose increases fail for spasticity pain.\n"
        "This test document exists only to check that the safety layer removes such a statement "
        "whatever the composer or the model does with it.\n",
        encoding="utf-8")


@pytest.mark.integration
def test_pipeline_bad_condensation_both_rewrites_in_trace(indexed, fake_embedder):
    from assistant.pipeline import Assistant

    s = indexed()
    model = ScriptedChat(condensed="The answer to this question would depend on the symptoms",
                         script=[("The maximum dose of tizanidine is 36 mg per day in divided doses.",
                                  "The maximum dose of tizanidine")])
    a = Assistant(s, embedder=fake_embedder, chat_model=model, audit=False)
    hist = [{"role": "user", "content": "What is the best approach for treating back pain in a patient with MS?"},
            {"role": "assistant", "content": "Baclofen or tizanidine for spasticity [1]."}]
    ans = a.answer("does he need imaging?", hist)
    cond = ans.to_json()["llm"]["condense"]
    assert cond["llm"].startswith("The answer to this question") and cond["used"] == "rule_based"
    assert "imaging" in cond["rejected"] and "imaging" in cond["rule_based"].lower()
    assert ans.condensed_query == cond["rule_based"] and "llm_condense_rejected" in ans.flags


@pytest.mark.integration
def test_pipeline_everything_dropped_falls_back_to_grounded(indexed, fake_embedder):
    from assistant.pipeline import Assistant

    s = indexed()
    injected = ["The maximum dose of tizanidine is 300 mg per day.", "It has few side effects."]
    model = ScriptedChat(script=[(x, "Baclofen") for x in injected])
    a = Assistant(s, embedder=fake_embedder, chat_model=model, audit=False)
    ans = a.answer("max tizanidine dose?")
    assert ans.composer == "grounded" and "llm_fallback" in ans.flags
    assert ans.llm_trace["fallback"]["reason"] == "unsupported"
    assert {d["sentence"] for d in ans.llm_trace["support"]["dropped"]} == set(injected)
    assert not any(x in ans.markdown for x in injected) and "36 mg" in ans.markdown


@pytest.mark.integration
def test_pipeline_enforcement_leaving_no_answer_falls_back(indexed, fake_embedder, corpus_copy):
    """The model's only tizanidine content is an opioid-first sentence that the safety layer
    drops: what is left (the reservation statement) does not answer, so the grounded composer does."""
    from assistant.pipeline import Assistant

    add_opioid_first_document(corpus_copy)
    s = indexed()
    model = ScriptedChat(script=[("Oxycodone is the first-line option when tizanidine dose increases "
                                  "fail for spasticity pain.", "Oxycodone is the first-line")])
    a = Assistant(s, embedder=fake_embedder, chat_model=model, audit=True)
    ans = a.answer(QUESTION_OPIOID_DOC)
    assert ans.llm_trace["support"]["dropped"] == [], ans.llm_trace
    assert ans.composer == "grounded" and ans.llm_trace["fallback"]["reason"] == "not_addressed_after_enforcement"
    assert "Oxycodone is the first-line" not in ans.markdown and "tizanidine" in ans.markdown.lower()
    row = a.audit.tail(1)[0]
    assert "llm_fallback" in row["flags"]


@pytest.mark.integration
def test_pipeline_renumbers_after_enforcement(indexed, fake_embedder, corpus_copy):
    from assistant.pipeline import Assistant

    add_opioid_first_document(corpus_copy)
    s = indexed()
    model = ScriptedChat(script=[
        ("Oxycodone is the first-line option when tizanidine dose increases fail for spasticity pain.",
         "Oxycodone is the first-line"),
        ("Tizanidine is titrated to the maximum tolerated dose, up to 36 mg per day in divided doses.",
         "up to 36 mg per day")])
    a = Assistant(s, embedder=fake_embedder, chat_model=model, audit=False)
    ans = a.answer(QUESTION_OPIOID_DOC)
    assert ans.composer.startswith("llm:"), ans.llm_trace["support"]["dropped"][0]["reasons"]
    assert "36 mg" in ans.markdown and "Oxycodone is the first-line" not in ans.markdown
    used = [int(n) for n in re.findall(r"\[(\d+)\]", ans.markdown)]
    first_use = list(dict.fromkeys(used))
    assert first_use == list(range(1, len(first_use) + 1))
    assert [c.n for c in ans.citations] == first_use


@pytest.mark.integration
def test_pipeline_hang_marks_timeout_in_json_and_audit(indexed, fake_embedder, monkeypatch, tmp_path):
    from assistant.pipeline import Assistant

    s = indexed(llm_deadline_s=5.0)
    with StubServer("hang") as srv:
        model = openai_model(tmp_path, monkeypatch, srv.base_url)
        a = Assistant(s, embedder=fake_embedder, chat_model=model, audit=True)
        ans = a.answer("max tizanidine dose?")
        assert srv.disconnected.wait(30) and srv.requests == 1
    j = ans.to_json()
    assert j["composer"] == "grounded" and "llm_timeout" in j["flags"] and "llm_fallback" in j["flags"]
    assert j["llm"]["fallback"]["reason"] == "timeout" and j["llm"]["deadline_s"] == 5.0
    row = a.audit.tail(1)[0]
    assert "llm_timeout" in row["flags"] and row["composer"] == "grounded"


@pytest.mark.integration
def test_pipeline_http_500_falls_back(indexed, fake_embedder, monkeypatch, tmp_path):
    from assistant.pipeline import Assistant

    s = indexed()
    with StubServer("500") as srv:
        model = openai_model(tmp_path, monkeypatch, srv.base_url)
        ans = Assistant(s, embedder=fake_embedder, chat_model=model, audit=False).answer("max tizanidine dose?")
        assert srv.requests == 1
    assert ans.composer == "grounded" and ans.llm_trace["fallback"]["reason"] == "error"
    assert "llm_timeout" not in ans.flags and "36 mg" in ans.markdown
