"""Red flags: findings in context -> escalation rules (from the policy) -> escalation block."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from assistant.records import Citation, Hit, RedFlag, RuleFired, SafetyVerdict, Section, Sentence

from .grades import alternation
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


# A later mention in one of these contexts does not settle anything about the patient.
_NOT_AN_EXCLUSION = frozenset({"possible", "hypothetical", "family", "general"})


def _definitely_negated(m: Mention) -> bool:
    return "negated" in m.contexts and not m.contexts & _NOT_AN_EXCLUSION


def _excluded_later(m: Mention, mentions: Sequence[Mention], possible_cats: frozenset[str] = frozenset(),
                    normal: Mapping[str, frozenset[str]] | None = None) -> Mention | None:
    """A later, definite negation of the same finding (``mentions`` in conversation order). A
    queried sign (``possible_cats``: its categories) is also answered by a later turn's examination
    or measurement that states a sign of its category normal ("?saddle numbness" ... "saddle sensation S2-S5
    intact"; ``Category.normal_by``)."""
    normal = normal or {}
    for later in mentions:
        if (later.turn_index, later.start) <= (m.turn_index, m.start):
            continue
        if later.label == m.label and _definitely_negated(later):
            return later
        if (later.turn_index > m.turn_index and possible_cats & normal.get(later.label, frozenset())
                and not later.contexts & (_NOT_AN_EXCLUSION | {"negated", "historical"})):
            return later
    return None


_SINCE_AFTER = re.compile(r"^[\s,]*(?:ever )?since\b", re.I)
# A full and a low-grade temperature are one finding for what a later turn settles.
_SAME_FINDING = {"low_grade_fever": "fever"}


def _settling(mentions: Sequence[Mention]) -> dict[str, list[Mention]]:
    """Definite negations followed by "since" ("no temperature since"), by finding."""
    out: dict[str, list[Mention]] = {}
    for m in mentions:
        if not _definitely_negated(m):
            continue
        i = m.sentence.lower().find(m.text.lower())
        if i >= 0 and (m.text.lower().endswith("since") or _SINCE_AFTER.match(m.sentence[i + len(m.text):])):
            out.setdefault(_SAME_FINDING.get(m.label, m.label), []).append(m)
    return out


def _settled_since(m: Mention, settling: Mapping[str, list[Mention]]) -> Mention | None:
    """A later definite negation of the same finding followed by "since" ("temps up to 38.4 ...
    no temperature since"): the finding was, and is no longer."""
    for later in settling.get(_SAME_FINDING.get(m.label, m.label), ()):
        if (later.turn_index, later.start) > (m.turn_index, m.start):
            return later
    return None


def _ruled_out(category, contributing: Sequence[Mention], mentions: Sequence[Mention],
               policy: Policy) -> Mention | None:
    """A definite negation of the category's diagnosis, with an investigation in its sentence
    ("76M tripped ... CT: no fracture"), or a normal examination ("power 5/5 throughout"), after
    every mention that made the rule fire."""
    last = max((m.turn_index, m.start) for m in contributing)
    evidence = _evidence_re(policy.exclusion_evidence)
    for m in mentions:
        if (m.turn_index, m.start) <= last or m.contexts & _NOT_AN_EXCLUSION:
            continue
        if (m.label in category.excluded_by and _definitely_negated(m)
                and evidence is not None and evidence.search(m.sentence)):
            return m
        if m.label in category.cleared_by and not m.contexts & {"negated", "historical"}:
            return m
    return None


def _explained(category, contributing: Sequence[Mention], mentions: Sequence[Mention]) -> Mention | None:
    """An effect in the sentence of every contributing mention, with a cause named anywhere in
    the conversation (``Category.explained_by``): the effect found, else None."""
    effects, causes = category.explained_by
    if not effects or not any(m.label in causes and "negated" not in m.contexts for m in mentions):
        return None
    found = None
    for c in contributing:
        effect = next((m for m in mentions if m.label in effects and "negated" not in m.contexts
                       and m.turn_index == c.turn_index and m.sentence == c.sentence), None)
        if effect is None:
            return None
        found = effect
    return found


@lru_cache(maxsize=8)
def _evidence_re(words: tuple[str, ...]) -> re.Pattern | None:
    return alternation(words)


_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")
_YEARS_AGO = re.compile(r"(?<![\w.])(\d{1,2})\s*(?:years?|yrs?|y)\s*(?:ago|previously|before|earlier)\b", re.I)


def _dated(m: Mention, rh) -> str | None:
    """"remote", "recent" or None (undated), from the mention's sentence."""
    low = " " + " ".join(m.sentence.lower().split()) + " "
    if any(f" {w} " in low for w in rh.recent_words):
        return "recent"
    this_year = date.today().year
    found = [(y.start(), int(y.group(1))) for y in _YEAR.finditer(m.sentence) if int(y.group(1)) <= this_year]
    if found:
        # The year nearest the finding dates it ("DCIS 2004 ..., discharged from follow-up 2014").
        at = m.sentence.lower().find(m.text.lower())
        year = (min(found, key=lambda f: abs(f[0] - at))[1] if at >= 0 else max(f[1] for f in found))
        return "remote" if year <= this_year - rh.years else "recent"
    ago = [int(n) for n in _YEARS_AGO.findall(m.sentence)]
    if ago:
        return "remote" if min(ago) >= rh.years else "recent"
    return "remote" if any(f" {w} " in low for w in rh.words) else None


_CLAUSE_BREAK = re.compile(r"[,;:]|\s[-\u2013]\s|\b(?:now|but|currently|presents?|presenting|presented)\b", re.I)
_DATE_SEGMENT = re.compile(r"\s[-\u2013]\s\(?(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6}\.?\s+)?(?:19[5-9]\d|20\d\d)\)?(?=\s*(?:[-\u2013,;:.)]|$))", re.I)
_EPISODE_OPENER = re.compile(r"^\W*(?:[a-z]+(?: [a-z]+){0,3},\s*)?(?:in|back in|during)\s+(?:(?:early|late|mid)\s+)?"
                             r"(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6}\.?\s+)?(19[5-9]\d|20\d\d)\b,?\s+"
                             r"(?:he|she|they|i|we|the patient|pt|mr \w+|mrs \w+|ms \w+|miss \w+)\s+"
                             r"(?:was|were|had|underwent|developed|presented|suffered|sustained|spent|required|needed)\b")
_BIRTH = re.compile(r"\b(?:dob|d\.o\.b\.?|born|b\.)\W*$", re.I)


def _dated_sign(m: Mention, rh) -> bool:
    """Is the sign dated long enough ago by a year in its own clause (``sign_years``)?"""
    if not rh.sign_years or m.current or "->" in m.detail or "\u2192" in m.detail:
        return False  # a change measured between dates ("Ht 5' 3.25\" (2023: 5' 5.5\")") is now
    low = m.sentence.lower()
    at = low.find(m.text.lower())
    if at < 0:
        return False
    lo = max([0] + [b.end() for b in _CLAUSE_BREAK.finditer(low) if b.end() <= at])
    hi = min((b.start() for b in _CLAUSE_BREAK.finditer(low, at + len(m.text))), default=len(low))
    # A problem list dates an entry in the next dash-set segment ("Spinal epidural abscess L3-L5
    # (MSSA) - 2012 - treated, resolved").
    if (tail := _DATE_SEGMENT.match(low, hi)):
        hi = tail.end()
    clause = " " + " ".join(low[lo:hi].split()) + " "
    if any(f" {w} " in clause for w in rh.recent_words):
        return False
    this_year = date.today().year
    # A sentence that opens a dated narrative ("As you know, in March 2012 he was admitted ...
    # complicated by an epidural abscess") dates all of it.
    if (opener := _EPISODE_OPENER.match(low)) and at > opener.start(1) \
            and int(opener.group(1)) <= this_year - rh.sign_years \
            and not any(f" {w} " in " " + " ".join(low.split()) + " " for w in rh.recent_words):
        return True
    for y in _YEAR.finditer(low, lo, hi):
        if _BIRTH.search(low[max(0, y.start() - 12):y.start()]):
            continue  # a date of birth dates nothing
        if int(y.group(1)) <= this_year - rh.sign_years:
            return True
    return False


def _remote_labels(mentions: Sequence[Mention], rh) -> dict[int, str]:
    """id(mention) -> the finding it becomes when dated long ago. An undated mention ("worth
    imaging because of the cancer history?") is remote when every dated one is."""
    kinds = dict(rh.findings)
    out: dict[int, str] = {}
    for label, remote in kinds.items():
        ms = [m for m in mentions if m.label == label]
        dated = {id(m): _dated(m, rh) for m in ms}
        all_remote = "remote" in dated.values() and "recent" not in dated.values()
        for m in ms:
            if dated[id(m)] == "remote" or (dated[id(m)] is None and all_remote):
                out[id(m)] = remote
    return out


@lru_cache(maxsize=8)
def _categories_of(policy: Policy) -> dict[str, frozenset[str]]:
    """Finding -> the categories of the rules that use it."""
    out: dict[str, set[str]] = {}
    for rule in policy.rules:
        for group in rule.all_of:
            for term in group:
                out.setdefault(term.finding, set()).add(rule.category)
    return {k: frozenset(v) for k, v in out.items()}


@lru_cache(maxsize=8)
def _normal_of(policy: Policy) -> dict[str, frozenset[str]]:
    """Finding stating a sign normal -> the categories it speaks for (``normal_by``)."""
    out: dict[str, set[str]] = {}
    for cat in policy.categories:
        for f in cat.normal_by:
            out.setdefault(f, set()).add(cat.id)
    return {k: frozenset(v) for k, v in out.items()}


def _corrected_later(m: Mention, every: Sequence[Mention], correcting: frozenset[int],
                     cats: Mapping[str, frozenset[str]], dated_back: frozenset[int] = frozenset(),
                     normal: Mapping[str, frozenset[str]] | None = None) -> Mention | None:
    """A later turn that corrects an earlier one ("Sorry, autocorrect - I meant he can't SLEEP
    ... his waterworks are totally normal") and definitely negates a finding of the same
    category, or states a sign of that category normal (``Category.normal_by``): the earlier
    finding was a slip, not the patient's."""
    if m.turn_index in dated_back:
        return m  # "Correction - ... that was in 2018 ... nothing like that now"
    normal = normal or {}
    mine = cats.get(m.label, frozenset())
    for later in every:
        if later.turn_index <= m.turn_index or later.turn_index not in correcting:
            continue
        if _definitely_negated(later) and mine & cats.get(later.label, frozenset()):
            return later
        # "she meant the outer thigh ... perineal sensation normal": a sign stated normal.
        if (not later.contexts & (_NOT_AN_EXCLUSION | {"negated", "historical"})
                and mine & normal.get(later.label, frozenset())):
            return later
    return None


def evaluate(analyses: Sequence[TurnAnalysis], policy: Policy,
             texts: Mapping[int, str] | None = None) -> tuple[tuple[RedFlag, ...], tuple[RuleFired, ...]]:
    """Apply the policy's combination rules to every counted finding of every user turn.
    ``texts`` (turn index -> the user's text) lets a later turn that says it corrects an earlier
    one (``policy.corrections``) withdraw what it negates, or, when it dates what was said
    before (``policy.corrections_dated``), everything the turn before it found."""
    v = policy.version
    counted: dict[str, list[Mention]] = {}
    trace: list[RuleFired] = []
    every = [m for ta in analyses for m in ta.mentions if m.label != OPIOID]
    correcting = frozenset(i for i, t in (texts or {}).items()
                           if policy.corrections is not None and policy.corrections.search(t))
    cats = _categories_of(policy) if correcting else {}
    normal_of = _normal_of(policy) if correcting else {}
    # The turn right before a correcting turn that dates it ("that was in 2018").
    dated_back = frozenset(
        max((j for j in (texts or {}) if j < i), default=-1) for i in correcting
        if policy.corrections_dated is not None and policy.corrections_dated.search((texts or {})[i]))
    settling = _settling(every)
    remote_of = _remote_labels([m for m in every if not ignoring_contexts(m, policy)], policy.remote_history)
    for ta in analyses:
        for m in ta.mentions:
            if m.label == OPIOID:
                continue
            ctx = ignoring_contexts(m, policy)
            if not ctx and correcting and (fix := _corrected_later(m, every, correcting, cats, dated_back, normal_of)) is not None:
                why = ("dated to the past" if fix is m else f"\u201c{fix.text}\u201d "
                       + ("negated" if "negated" in fix.contexts else "stated normal"))
                trace.append(RuleFired("context.corrected", v, m.text,
                                       f"{m.label} in turn {m.turn_index} was corrected in a later turn ({why})"))
                continue
            if not ctx and policy.finding(m.label).kind == "sign" and _dated_sign(m, policy.remote_history):
                trace.append(RuleFired("context.dated", v, m.text,
                                       f"{m.label} in turn {m.turn_index} is dated years back in its own clause: history"))
                continue
            if not ctx and (since := _settled_since(m, settling)) is not None:
                trace.append(RuleFired("context.settled", v, m.text,
                                       f"{m.label} in turn {m.turn_index} has since settled "
                                       f"(\u201c{since.sentence[:120]}\u201d, turn {since.turn_index})"))
                continue
            if not ctx and ("possible" in m.contexts or policy.finding(m.label).diagnosis):
                queried = _categories_of(policy).get(m.label, frozenset()) if "possible" in m.contexts else frozenset()
                later = _excluded_later(m, every, queried, _normal_of(policy))
                if later is not None:
                    trace.append(RuleFired("context.resolved", v, m.text,
                                           f"{m.label} in turn {m.turn_index} was later excluded "
                                           f"(\u201c{later.text}\u201d, turn {later.turn_index})"))
                    continue
            if not ctx and "possible" in m.contexts:
                trace.append(RuleFired("context.possible", v, m.text,
                                       f"{m.label} in turn {m.turn_index} is uncertain, not excluded: counted as possible"))
            remote = remote_of.get(id(m)) if not ctx else None
            if remote:
                trace.append(RuleFired("context.remote", v, m.text,
                                       f"{m.label} in turn {m.turn_index} is dated long ago: counted as {remote}"))
                m = replace(m, label=remote)
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
                   if (m.current or not term.needs_new)
                   and (not term.needs_possible or "possible" in m.contexts)]
            if not got:
                break
            contributing.extend(got)
        else:
            contributing.sort(key=lambda m: (m.turn_index, m.start))
            texts = "; ".join(dict.fromkeys(m.text for m in contributing))
            category = policy.category(rule.category)
            ruled_out = _ruled_out(category, contributing, every, policy)
            explained = None if ruled_out is not None else _explained(category, contributing, every)
            if ruled_out is not None:
                trace.append(RuleFired("context.resolved", v, texts,
                                       f"{rule.category} ({rule.id}) later excluded by investigation or examination "
                                       f"(\u201c{ruled_out.sentence[:120]}\u201d, turn {ruled_out.turn_index})"))
            elif explained is not None:
                trace.append(RuleFired("context.explained", v, texts,
                                       f"{rule.category} ({rule.id}) said with a known drug effect (\u201c{explained.text}"
                                       f"\u201d, turn {explained.turn_index}) of a drug named in the conversation"))
            else:
                trace.append(RuleFired(f"redflag.{rule.id}", v, texts, f"{rule.category}: {rule.description}"))
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
