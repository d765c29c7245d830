"""Suggested follow-up questions, drawn from the headings of retrieved sections."""

from __future__ import annotations

import re

from ingest.records import Chunk

from ..cues import cues
from ..vocab import vocabulary
from ..weights import WEIGHTS
from .query import Query
from .score import Cand
from .sentences import sentences as _sentences

_SUGGEST_RULES = tuple((r.heading, r.key, r.text) for r in cues().suggest_rules)

def suggestions(cands: list[Cand], used_chunks: set[str], q: Query, audience: str, question: str,
                 present: set[str]) -> tuple[str, ...]:
    vocab = vocabulary()
    disease = next((vocab.concepts[c].name for c in sorted(q.concepts)
                    if vocab.concepts[c].category == "disease"), None)
    asked = question.lower()
    ranked_chunks: list[tuple[float, Chunk]] = []
    best: dict[str, float] = {}
    chunks: dict[str, Chunk] = {}
    for c in cands:
        cid = c.hit.chunk.chunk_id
        chunks[cid] = c.hit.chunk
        best[cid] = max(best.get(cid, 0.0), c.score)
    ranked_chunks = sorted(((best[k], chunks[k]) for k in chunks), key=lambda x: -x[0])
    out: list[str] = []
    keys: set[str] = set(q.intents) | {k for k in ("algorithm", "pitfalls") if k in present}
    if audience == "patient" or q.patient_language:
        keys |= {"algorithm", "pitfalls", "assessment", "second_line", "patient"}
    if q.concepts & {"neuropathic", "spasticity", "musculoskeletal"} and q.breadth != "broad":
        keys |= set(q.concepts)

    def add(key: str, text: str):
        if key in keys or text in out or len(out) >= WEIGHTS.suggestions_max:
            return
        if text.rstrip("?").lower() in asked:
            return
        keys.add(key)
        out.append(text)

    for unused_only in (True, False):
        for _, chunk in ranked_chunks:
            if unused_only == (chunk.chunk_id in used_chunks):
                continue
            heading = chunk.heading
            agent = next((vocab.concepts[m.concept] for m in vocab.mentions(heading)
                          if vocab.concepts[m.concept].category == "agent"), None)
            dosing = any(s.dose_number for s in _sentences(chunk))
            asked_about = agent is not None and agent.id in q.agents
            if agent is not None and dosing and audience != "patient":
                if not (asked_about and "dose" in q.intents):
                    add(f"dose:{agent.id}", f"What is the maximum dose of {agent.name}?")
                continue
            if agent is not None and re.search(r"caution|side|safe", heading, re.I):
                if not (asked_about and q.intents & {"safety", "side_effects"}):
                    add(f"safety:{agent.id}", f"What are the cautions with {agent.name}?")
                continue
            for pat, key, text in _SUGGEST_RULES:
                if pat.search(heading):
                    if key == "patient" and audience == "patient":
                        continue
                    if key in ("neuropathic", "spasticity", "musculoskeletal") and disease:
                        text = text.rstrip("?") + f" in {disease}?"
                    add(key, text)
                    break
        if len(out) >= WEIGHTS.suggestions_min_unused:
            break
    return tuple(out[:WEIGHTS.suggestions_max])

