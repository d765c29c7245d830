"""Red flags: findings in context -> escalation rules (from the policy) -> escalation block."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.records import Citation, Hit, RedFlag, RuleFired, SafetyVerdict, Section, Sentence

from .policy import OPIOID, Category, Policy, load_policy

if TYPE_CHECKING:  # spaCy is imported only when a conversation is first checked
    from .context import Mention, TurnAnalysis

# A finding described as new or changing is not "historical" or "stable", whatever else is said.
_OVERRIDDEN_BY_CURRENT = frozenset({"historical", "stable"})


def ignoring_contexts(m: Mention, policy: Policy) -> frozenset[str]:
    """The contexts that make this finding not count (empty = it counts)."""
    ctx = m.contexts & policy.finding(m.label).ignore_in
    if m.current:
        ctx = ctx - _OVERRIDDEN_BY_CURRENT
    return ctx


def evaluate(analyses: Sequence[TurnAnalysis], policy: Policy) -> tuple[tuple[RedFlag, ...], tuple[RuleFired, ...]]:
    """Apply the policy's combination rules to every counted finding of every user turn."""
    v = policy.version
    counted: dict[str, list[Mention]] = {}
    trace: list[RuleFired] = []
    for ta in analyses:
        for m in ta.mentions:
            if m.label == OPIOID:
                continue
            ctx = ignoring_contexts(m, policy)
            if not ctx and "possible" in m.contexts:
                trace.append(RuleFired("context.possible", v, m.text,
                                       f"{m.label} in turn {m.turn_index} is uncertain, not excluded: counted as possible"))
            if ctx:
                trace.append(RuleFired(
                    f"context.{sorted(ctx)[0]}", v, m.text,
                    f"{m.label} in turn {m.turn_index} not counted ({', '.join(sorted(ctx))})"))
            else:
                counted.setdefault(m.label, []).append(m)
                if m.detail:  # a graded, measured or combined finding: say how it was read
                    kind, _, what = m.detail.partition("|") if "|" in m.detail else ("grade", "", m.detail)
                    trace.append(RuleFired(f"{kind}.{m.label}", v, m.text, f"{what} (turn {m.turn_index})"))

    fired: dict[str, list[Mention]] = {}
    for rule in policy.rules:
        contributing: list[Mention] = []
        for group in rule.all_of:
            got = [m for term in group for m in counted.get(term.finding, ())
                   if m.current or not term.needs_new]
            if not got:
                break
            contributing.extend(got)
        else:
            contributing.sort(key=lambda m: (m.turn_index, m.start))
            trace.append(RuleFired(
                f"redflag.{rule.id}", v, "; ".join(dict.fromkeys(m.text for m in contributing)),
                f"{rule.category}: {rule.description}"))
            fired.setdefault(rule.category, []).extend(contributing)

    flags: list[RedFlag] = []
    for cat in policy.categories:
        seen: set[str] = set()
        for m in sorted(fired.get(cat.id, ()), key=lambda m: (m.turn_index, m.start)):
            key = m.text.lower()
            if key not in seen:
                seen.add(key)
                flags.append(RedFlag(cat.id, m.text, m.turn_index, possible="possible" in m.contexts))
    return tuple(flags), tuple(trace)


def triggered_categories(verdict: SafetyVerdict, policy: Policy) -> list[Category]:
    cats = {r.category for r in verdict.red_flags}
    return [c for c in policy.categories if c.id in cats]


def escalation_query(verdict: SafetyVerdict, policy: Policy | None = None) -> str | None:
    """A retrieval query for the red-flag passages of the triggered categories, or None."""
    if not verdict.escalated:
        return None
    policy = policy or load_policy()
    cats = triggered_categories(verdict, policy)
    if not cats:
        return "red flags back pain emergency assessment"
    return " ".join(c.retrieval_query for c in cats)


def red_flag_chunk(hits: Sequence[Hit], category: Category, policy: Policy):
    """The best retrieved red-flag passage about this category (hits are in rank order).

    Red-flag guidance = a document listed in the policy, or a section whose heading path mentions
    red flags. A passage whose heading names the category beats one that only mentions it.
    """
    esc = policy.escalation

    def guidance(c) -> bool:
        return c.doc_id in esc.red_flag_doc_ids or any(k in c.section.lower() for k in esc.section_keywords)

    candidates = [h.chunk for h in hits if guidance(h.chunk)]
    for c in candidates:
        if any(k in c.section.lower() for k in category.passage_keywords):
            return c
    for c in candidates:
        if any(k in c.text.lower() for k in category.passage_keywords):
            return c
    return None


def escalation_section(verdict: SafetyVerdict, policy: Policy, cite) -> tuple[Section, list[int]]:
    """The escalation block; ``cite(chunk) -> n`` numbers a passage. Returns the section and
    the citation numbers it uses."""
    cats = triggered_categories(verdict, policy)
    esc = policy.escalation
    if not cats:  # an escalated verdict built without red flags: still say what to do
        return Section(heading=f"{esc.heading_prefix}: {esc.fallback_label}",
                       sentences=tuple(Sentence(a) for a in esc.fallback_actions), kind="escalation"), []
    heading = f"{esc.heading_prefix}: " + " and ".join(c.label for c in cats)
    sentences: list[Sentence] = []
    used: list[int] = []
    for c in cats:
        mine = [r for r in verdict.red_flags if r.category == c.id]
        quotes = ", ".join(f"\u201c{r.trigger}\u201d" + (" (possible, not yet excluded)" if r.possible else "")
                           for r in mine)
        n = cite(c) if cite else None
        cites = (n,) if n else ()
        if n and n not in used:
            used.append(n)
        sentences.append(Sentence(esc.quote_template.format(label=c.label, quotes=quotes), cites))
        sentences.extend(Sentence(a, cites) for a in c.actions)
    return Section(heading=heading, sentences=tuple(sentences), kind="escalation"), used


def citation_for(chunk, citations: list[Citation]) -> tuple[int, bool]:
    """Existing number for this chunk, or the next free one (second value: newly added)."""
    for c in citations:
        if c.chunk_id == chunk.chunk_id:
            return c.n, False
    n = max((c.n for c in citations), default=0) + 1
    citations.append(Citation.from_chunk(n, chunk))
    return n, True
