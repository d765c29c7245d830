"""The optional LLM composer, with LangChain fake chat models (no network)."""

from __future__ import annotations

import pytest
from langchain_core.language_models import FakeListChatModel

from assistant.llm import (
    LLMError,
    LLMTimeout,
    build_messages,
    compose_with_llm,
    condense_with_llm,
    make_chat_model,
    parse_llm_answer,
)
from assistant.records import Hit, SafetyVerdict, Turn
from assistant.render import render
from assistant.support import SupportChecker
from core.errors import AssistantError, ConfigError
from core.settings import Settings
from ingest.records import Chunk

SEED = "What is the best approach for treating back pain in a patient with Multiple Sclerosis (MS)?"
TITLE = "Back pain in multiple sclerosis: assessment and treatment"


def chunk(i: int, heading: str, text: str, doc="ms-back-pain", title=TITLE) -> Chunk:
    return Chunk(chunk_id=f"{doc}:{i:016d}", doc_id=doc, title=title, section=f"{title} > {heading}",
                 version="3.1", status="approved", last_reviewed="2026-09-15", start=i * 100,
                 end=i * 100 + len(text), text=text)


P1 = chunk(1, "Key recommendations", "Back pain in multiple sclerosis usually has more than one cause. "
           "Spasticity-related back pain is treated with baclofen or tizanidine.")
P2 = chunk(2, "First-line drug treatment > Spasticity component",
           "Tizanidine is titrated to the maximum tolerated dose, up to 36 mg per day in divided doses.")
P3 = chunk(3, "First-line non-drug treatment",
           "People with multiple sclerosis and back pain should be advised to remain as active as they can.")
NOT_RETRIEVED = chunk(9, "Second-line options", "A passage that was never retrieved for this question.")
HITS = [Hit(c, 1.0 / (60 + i), i, dense_score=0.7) for i, c in enumerate((P1, P2, P3), 1)]


@pytest.fixture
def check(fake_embedder):
    """The support check on the fake embedder (bag-of-words cosine)."""
    return SupportChecker(fake_embedder)


class RecordingChat(FakeListChatModel):
    """A fake chat model that also keeps the messages it was sent."""

    seen: list = []

    def _call(self, messages, *args, **kwargs):
        self.seen.append(messages)
        return super()._call(messages, *args, **kwargs)


class BrokenChat(FakeListChatModel):
    """A fake chat model whose server is down."""

    def _call(self, *args, **kwargs):
        raise ConnectionError("connection refused")


# --------------------------------------------------------------------------- model factory

def test_no_llm_configured_means_none(tmp_path):
    assert make_chat_model(Settings(data_dir=tmp_path)) is None
    assert make_chat_model(Settings(data_dir=tmp_path, llm="")) is None


@pytest.mark.parametrize("spec", ["gpt-4o", "anthropic:claude", "ollama:", "openai: "])
def test_bad_spec_names_the_value(tmp_path, spec):
    with pytest.raises(ConfigError) as e:
        make_chat_model(Settings(data_dir=tmp_path, llm=spec))
    assert repr(spec.strip()) in str(e.value) or repr(spec) in str(e.value)


def test_ollama_spec_builds_chat_ollama(tmp_path):
    m = make_chat_model(Settings(data_dir=tmp_path, llm="ollama:llama3.1"))
    assert type(m).__name__ == "ChatOllama" and m.model == "llama3.1"


def test_openai_spec_uses_base_url_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    m = make_chat_model(Settings(data_dir=tmp_path, llm="openai:local-model"))
    assert type(m).__name__ == "ChatOpenAI" and m.model_name == "local-model"
    assert "127.0.0.1:9" in str(m.openai_api_base)


def test_openai_without_key_or_server_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_chat_model(Settings(data_dir=tmp_path, llm="openai:gpt-4o-mini"))


# --------------------------------------------------------------------------- prompt

def test_prompt_holds_only_the_numbered_passages_and_the_rules(check):
    model = RecordingChat(responses=["Spasticity-related back pain is treated with baclofen or tizanidine [1]."])
    model.seen = []
    history = [Turn("user", SEED), Turn("assistant", "An earlier answer.")]
    compose_with_llm("max tizanidine dose?", HITS, chat_model=model, history=history, audience="patient",
                     support=check)
    system, human = model.seen[0]
    assert "[1] or [2][3]" in system.content and "Opioids are reserved" in system.content
    assert "plain" in system.content and "leave out doses" in system.content
    text = human.content
    for i, c in enumerate((P1, P2, P3), 1):
        assert f"[{i}] ({TITLE} - {c.section.split(' > ', 1)[1]})\n{c.text}" in text
    assert "[4]" not in text and NOT_RETRIEVED.text not in text
    assert "Question: max tizanidine dose?" in text
    assert SEED in text  # the conversation so far, for context


def test_build_messages_clinician_audience():
    sys_msg, _ = build_messages("q?", HITS)
    assert "Audience: a clinician" in sys_msg.content


# --------------------------------------------------------------------------- parsing and the citation check

LLM_ANSWER = """**Bottom line:** Spasticity-related back pain is treated with baclofen or tizanidine. [3][1]

## Spasticity
- Tizanidine is titrated up to 36 mg per day in divided doses [2].
- Tizanidine cures multiple sclerosis [7].
- A claim with no source at all.

## Treatment algorithm
1. People with multiple sclerosis and back pain should be advised to remain active [3].
2. Spasticity-related back pain is treated with baclofen or tizanidine [1, 2].
"""


def test_llm_answer_is_parsed_and_citations_checked(check):
    model = FakeListChatModel(responses=[LLM_ANSWER])
    ans = compose_with_llm(SEED, HITS, chat_model=model, verdict=SafetyVerdict(policy_version="p"), support=check)
    assert ans.composer == "llm:fake-list-chat-model"
    assert set(ans.flags) == {"invalid_citations_removed", "uncited_sentences_dropped"}
    # Answer numbers follow first use: passage 3 is [1], passage 1 is [2], passage 2 is [3].
    assert [c.chunk_id for c in ans.citations] == [P3.chunk_id, P1.chunk_id, P2.chunk_id]
    assert [c.n for c in ans.citations] == [1, 2, 3]
    bl = ans.sections[0]
    assert bl.kind == "bottom_line" and bl.heading == "Bottom line"
    assert bl.sentences[0].cites == (1, 2)
    texts = [s.text for sec in ans.sections for s in sec.sentences]
    assert not any("cures" in t or "no source" in t for t in texts)
    spas = next(s for s in ans.sections if s.heading == "Spasticity")
    assert [s.text for s in spas.sentences] == ["Tizanidine is titrated up to 36 mg per day in divided doses."]
    assert spas.sentences[0].cites == (3,)
    algo = next(s for s in ans.sections if s.kind == "algorithm")
    assert algo.ordered and [s.cites for s in algo.sentences] == [(1,), (2, 3)]
    assert ans.sections[-1].kind == "disclaimer"
    for sec in ans.sections[:-1]:
        for s in sec.sentences:
            assert s.cites and all(1 <= n <= len(ans.citations) for n in s.cites)
    assert ans.markdown == render(ans.sections)
    assert "[7]" not in ans.markdown
    assert ans.safety.policy_version == "p" and ans.hits == tuple(HITS)


def test_citation_forms_are_understood():
    p = parse_llm_answer("One fact [1-3]. Another fact.[2] Third fact [1; 2].", 3)
    sents = p.sections[0]["sents"]
    assert sents == [("One fact.", [1, 2, 3]), ("Another fact.", [2]), ("Third fact.", [1, 2])]
    assert not p.invalid and not p.uncited


def test_answer_without_any_valid_citation_is_an_error(check):
    model = FakeListChatModel(responses=["Back pain is common [12]. Rest is good."])
    with pytest.raises(LLMError, match="no statement citing"):
        compose_with_llm(SEED, HITS, chat_model=model, support=check)


def test_reasoning_blocks_are_ignored(check):
    model = FakeListChatModel(responses=[
        "<think>Maybe cite [9]?</think>People with multiple sclerosis and back pain should be advised "
        "to remain as active as they can [3]."])
    ans = compose_with_llm(SEED, HITS, chat_model=model, support=check)
    assert "invalid_citations_removed" not in ans.flags
    assert ans.citations[0].chunk_id == P3.chunk_id


# --------------------------------------------------------------------------- failures -> fallback signal

def test_model_failure_raises_an_assistant_error(check):
    with pytest.raises(LLMError, match="connection refused") as e:
        compose_with_llm(SEED, HITS, chat_model=BrokenChat(responses=["unused"]), support=check)
    assert isinstance(e.value, AssistantError)


def test_model_timeout_raises(check):
    slow = FakeListChatModel(responses=["Stay active [3]."], sleep=2.0)
    with pytest.raises(LLMTimeout, match="within 0.1 s"):
        compose_with_llm(SEED, HITS, chat_model=slow, timeout_s=0.1, support=check)


def test_out_of_scope_does_not_call_the_model():
    off = [Hit(c, 0.01, i, dense_score=0.05) for i, c in enumerate((P1, P2), 1)]
    ans = compose_with_llm("What is the capital of France?", off, chat_model=BrokenChat(responses=["x"]),
                           covered_topics=[TITLE])
    assert ans.out_of_scope and ans.citations == () and TITLE in ans.markdown


# --------------------------------------------------------------------------- condensing

def test_condense_with_llm_first_question_is_used_as_asked():
    assert condense_with_llm(SEED, [], BrokenChat(responses=["x"])) == SEED


def test_condense_with_llm_returns_the_models_query():
    model = RecordingChat(responses=['Query: "maximum tizanidine dose in multiple sclerosis spasticity"\n'])
    model.seen = []
    hist = [Turn("user", "Is tizanidine useful for MS spasticity?"), Turn("assistant", "Yes [1].")]
    out = condense_with_llm("max dose?", hist, model)
    assert out == "maximum tizanidine dose in multiple sclerosis spasticity"
    prompt = model.seen[0][1].content
    assert "Is tizanidine useful for MS spasticity?" in prompt and "Last question: max dose?" in prompt


def test_condense_with_llm_failures_raise():
    hist = [Turn("user", SEED)]
    with pytest.raises(LLMError):
        condense_with_llm("max dose?", hist, FakeListChatModel(responses=["   \n"]))
    with pytest.raises(LLMError):
        condense_with_llm("max dose?", hist, BrokenChat(responses=["x"]))


# --------------------------------------------------------------------------- pipeline fallback

@pytest.mark.integration
def test_pipeline_falls_back_to_grounded_composer(settings, fake_embedder):
    from assistant.pipeline import Assistant
    from ingest.index import run_ingest

    run_ingest(settings, embedder=fake_embedder)
    a = Assistant(settings, embedder=fake_embedder, chat_model=BrokenChat(responses=["x"]), audit=False)
    ans = a.answer("max tizanidine dose?")
    assert "llm_fallback" in ans.flags
    assert ans.composer == "grounded" and ans.citations
