"""Every case of the shipped eval set through a scripted model that echoes the grounded composer's
sentences, with their citations, and one number or drug corrupted per answer: every corrupted
sentence must be caught by the support check, and most true sentences must survive it.

The model echoes what the grounded composer wrote for the same passages, before the safety layer
(the support check, like the composer, runs before enforcement).

Uses the real packaged model and a real index of the shipped corpus (``integration``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models import FakeListChatModel

from assistant.compose import compose
from assistant.llm import CONTENT_KINDS, LLMError, compose_with_llm
from evals import perturb
from evals.schema import load_set

SET = Path(__file__).resolve().parent.parent / "evals" / "sets" / "core.jsonl"
MIN_KEPT = 0.9
"""Share of the uncorrupted echoed sentences the check must keep (it must not pass the test
by rejecting everything)."""


def scripted_reply(answer, corrupt_at: int, corrupted: str) -> tuple[str, list[str]]:
    """The grounded answer's content sentences as a model would write them, citing the prompt's
    passage numbers; the ``corrupt_at``-th sentence replaced by ``corrupted``."""
    order: dict[str, int] = {}
    for h in sorted(answer.hits, key=lambda h: h.rank):
        order.setdefault(h.chunk.chunk_id, len(order) + 1)
    by_n = {c.n: c.chunk_id for c in answer.citations}
    lines, echoed = [], []
    i = 0
    for sec in answer.sections:
        if sec.kind not in CONTENT_KINDS:
            continue
        lines.append(f"## {sec.heading or 'Answer'}")
        for s in sec.sentences:
            nums = [order[by_n[n]] for n in s.cites if n in by_n and by_n[n] in order]
            if not nums:
                continue
            text = corrupted if i == corrupt_at else s.text
            if i != corrupt_at:
                echoed.append(s.text)
            lines.append(f"- {text} " + "".join(f"[{n}]" for n in nums))
            i += 1
    return "\n".join(lines), echoed


def cited_text(answer, sentence) -> str:
    by_n = {c.n: c.text for c in answer.citations}
    return "\n".join(by_n.get(n, "") for n in sentence.cites)


@pytest.mark.integration
def test_every_corrupted_sentence_is_caught_on_the_eval_set(real_assistant):
    checker = real_assistant.support_checker()
    cases = load_set(SET)
    caught, corrupted_n, kept, echoed_n, fallbacks, skipped = 0, 0, 0, 0, 0, []
    missed = []
    for case in cases:
        final = real_assistant.answer(case.question, case.history(), case.audience)
        grounded = compose(case.question, final.hits, query=final.condensed_query, audience=case.audience,
                           verdict=final.safety)
        if grounded.out_of_scope:
            skipped.append((case.id, "out of scope"))
            continue
        content = [s for sec in grounded.sections if sec.kind in CONTENT_KINDS for s in sec.sentences if s.cites]
        corruption = None
        for idx, s in enumerate(content):
            avoid = cited_text(grounded, s)
            bad = (perturb.corrupt_number(s.text, avoid, seed=idx)
                   or perturb.corrupt_drug(s.text, avoid, seed=idx))
            if bad and bad != s.text:
                corruption = (idx, bad)
                break
        if corruption is None:
            skipped.append((case.id, "no number or drug to corrupt"))
            continue
        idx, bad = corruption
        reply, echoed = scripted_reply(grounded, idx, bad)
        corrupted_n += 1
        echoed_n += len(echoed)
        try:
            ans = compose_with_llm(case.question, grounded.hits, chat_model=FakeListChatModel(responses=[reply]),
                                   audience=case.audience, history=case.history(), verdict=grounded.safety,
                                   query=grounded.condensed_query, support=checker)
        except LLMError:
            # Nothing supported left, or what was left no longer answers: the grounded composer answers.
            caught += 1
            fallbacks += 1
            continue
        texts = {s.text for sec in ans.sections for s in sec.sentences}
        if bad in texts or bad in ans.markdown:
            missed.append((case.id, bad))
        else:
            caught += 1
        kept += sum(1 for t in echoed if t in texts)
    print(f"\n{corrupted_n} answers corrupted, {caught} caught ({fallbacks} fell back to grounded); "
          f"{kept}/{echoed_n} true echoed sentences kept; skipped {len(skipped)}: {skipped[:10]}")
    assert not missed, missed
    assert caught == corrupted_n and corrupted_n >= len(cases) // 2
    assert kept >= MIN_KEPT * echoed_n, f"only {kept}/{echoed_n} true sentences kept"
