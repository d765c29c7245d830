"""The two entry points: ``check_input`` (conversation -> verdict) and ``enforce`` (answer ->
answer that obeys the rules). Both are pure and deterministic for a given policy file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from assistant.records import Answer, RuleFired, SafetyVerdict, Section, Sentence, Turn
from assistant.render import render
from core.errors import InputError

from .opioids import has_framing, mentions_opioid, reservation_chunk, reserves, restricts, violations
from .policy import OPIOID, Policy, load_policy
from .redflags import citation_for, escalation_section, evaluate, red_flag_chunk

UNCITED_FLAG = "opioid_reservation_uncited"


def check_input(turns: Sequence[Turn], policy: Policy | None = None) -> SafetyVerdict:
    """Scan every user turn for red flags, opioid requests and attempts to override the rules."""
    from .context import analyze  # lazy: spaCy loads on first use

    policy = policy or load_policy()
    v = policy.version
    if isinstance(turns, (str, bytes)):
        raise InputError("check_input expects a sequence of Turn records, got a plain string")
    if not isinstance(turns, (list, tuple)):
        raise InputError(f"check_input expects a sequence of Turn records, got {type(turns).__name__}")
    user: list[tuple[int, str]] = []
    for i, t in enumerate(turns):
        if not isinstance(t, Turn):
            raise InputError(f"conversation item {i} is a {type(t).__name__}, not a Turn")
        if t.role == "user" and t.content.strip():
            user.append((i, t.content))
    analyses = analyze(user, policy)
    red_flags, trace = evaluate(analyses, policy, dict(user))
    rules = list(trace)

    pressure = False
    any_opioid: list[tuple[int, str]] = []
    requested = False
    for ta in analyses:
        for span in ta.pressure:
            pressure = True
            rules.append(RuleFired("pressure.override_attempt", v, span, f"turn {ta.turn_index}"))
        for m in ta.mentions:
            if m.label != OPIOID:
                continue
            any_opioid.append((ta.turn_index, m.text))
            if "negated" not in m.contexts and ta.request_cues:
                requested = True
                rules.append(RuleFired("opioid.requested", v, m.text,
                                       f"turn {ta.turn_index}; cue: {ta.request_cues[0]}"))
    if pressure and any_opioid:
        requested = True
        turn, span = any_opioid[0]
        rules.append(RuleFired("opioid.pressure", v, span, f"override attempt about opioids (turn {turn})"))

    return SafetyVerdict(
        policy_version=v,
        escalated=bool(red_flags),
        red_flags=red_flags,
        opioid_requested=requested,
        pressure=pressure,
        rules_fired=tuple(rules),
    )


def _ours(sec: Section, policy: Policy) -> bool:
    """Sections this module inserts (so that enforcing twice does not stack them)."""
    op = policy.opioids
    if sec.kind == "escalation":
        return True
    if sec.kind != "notice":
        return False
    if sec.heading in (op.notice_heading, op.pressure_notice_heading):
        return True
    return tuple(s.text for s in sec.sentences) == (policy.escalation.secondary_notice,)


def enforce(answer: Answer, verdict: SafetyVerdict, policy: Policy | None = None) -> Answer:
    """Return ``answer`` rewritten to obey the escalation and opioid-reservation rules."""
    policy = policy or load_policy()
    op = policy.opioids
    v = policy.version
    rules = list(verdict.rules_fired)
    flags = list(answer.flags)
    citations = list(answer.citations)
    hits = answer.hits

    def cite(chunk) -> int:
        return citation_for(chunk, citations)[0]

    # --- opioid rule over every sentence the composer wrote ---------------------------------
    res_chunk = reservation_chunk(hits, policy)
    res_n: int | None = None

    def reservation_cites() -> tuple[int, ...]:
        nonlocal res_n
        if res_chunk is None:
            if UNCITED_FLAG not in flags:
                flags.append(UNCITED_FLAG)
            return ()
        if res_n is None:
            res_n = cite(res_chunk)
        return (res_n,)

    applied = False
    dropped: list[Sentence] = []
    first_drop: tuple[int, int] | None = None
    needs_statement = False
    body: list[Section] = []
    for sec in (s for s in answer.sections if not _ours(s, policy)):
        if sec.kind == "out_of_scope":
            # The "not covered; it covers: <titles>" statement names documents, not treatments.
            body.append(sec)
            continue
        kept: list[Sentence] = []
        for sent in sec.sentences:
            if not mentions_opioid(sent.text, policy):
                kept.append(sent)
                continue
            bad = violations(sent.text, policy)
            if bad:
                applied = True
                dropped.append(sent)
                needs_statement = True
                if first_drop is None:
                    first_drop = (len(body), len(kept))
                rules.append(RuleFired("opioid.sentence_dropped", v, sent.text,
                                       f"presents an opioid as {bad[0]!r}"))
            elif has_framing(sent.text, policy):
                kept.append(sent)
            elif restricts(sent.text, policy) or reserves(sent.text, policy):
                # A caution about opioids (avoid, taper, do not combine...), or a sentence that
                # already reserves them for severe pain, presents none as an option: kept as
                # written, with the full rule stated once, as a sentence of its own, before the
                # first of them.
                applied = True
                if first_drop is None:
                    first_drop = (len(body), len(kept))
                needs_statement = True
                kept.append(sent)
                rules.append(RuleFired("opioid.caution_kept", v, sent.text,
                                       "restricts opioid use; the rule is stated beside it"))
            else:
                # Never spliced: the sentence goes, and the rule is stated once, as a sentence of
                # its own, where the first such sentence stood.
                applied = True
                dropped.append(sent)
                needs_statement = True
                if first_drop is None:
                    first_drop = (len(body), len(kept))
                rules.append(RuleFired("opioid.sentence_dropped", v, sent.text,
                                       "names an opioid without the reservation framing"))
        body.append(replace(sec, sentences=tuple(kept)))

    notice_needed = verdict.opioid_requested
    statement_present = any(s.text == op.statement for sec in body for s in sec.sentences)
    head: list[Section] = []

    # --- escalation block first ----------------------------------------------------------------
    if verdict.escalated:
        def cite_category(cat):
            chunk = red_flag_chunk(hits, cat, policy)
            return cite(chunk) if chunk is not None else None

        esc, used = escalation_section(verdict, policy, cite_category)
        head.append(esc)
        detail = f"cited {', '.join(f'[{n}]' for n in used)}" if used else "no red-flag passage retrieved"
        rules.append(RuleFired("escalation.block", v, esc.heading, detail))

    # --- the rule stated first when opioids are asked for or pushed ------------------------
    if notice_needed:
        sents = [Sentence(op.statement, reservation_cites())]
        if verdict.pressure:
            sents.append(Sentence(op.pressure_sentence))
        sents.append(Sentence(op.alternatives_sentence))
        head.append(Section(heading=op.notice_heading, sentences=tuple(sents), kind="notice"))
        applied = True
        rules.append(RuleFired("opioid.rule_stated_first", v, op.statement,
                               "opioid requested" + (" under pressure" if verdict.pressure else "")))
    elif needs_statement and not statement_present:
        si, pos = first_drop
        sec = body[si]
        sents = list(sec.sentences)
        sents.insert(pos, Sentence(op.statement, reservation_cites()))
        body[si] = replace(sec, sentences=tuple(sents))
        rules.append(RuleFired("opioid.statement_added", v, op.statement, "in place of dropped sentence"))
    if verdict.pressure and not notice_needed:
        head.append(Section(heading=op.pressure_notice_heading,
                            sentences=(Sentence(op.pressure_notice),), kind="notice"))
        rules.append(RuleFired("pressure.notice", v, op.pressure_notice, "override attempt refused"))

    if verdict.escalated:
        head.append(Section(heading="", sentences=(Sentence(policy.escalation.secondary_notice),),
                            kind="notice"))

    sections = tuple(head) + tuple(s for s in body if s.sentences)

    # --- citations: drop only those whose every citing sentence was dropped -----------------
    referenced = {n for sec in sections for s in sec.sentences for n in s.cites}
    orphaned = {n for s in dropped for n in s.cites} - referenced
    if orphaned:
        citations = [c for c in citations if c.n not in orphaned]
        rules.append(RuleFired("citation.removed", v, ", ".join(f"[{n}]" for n in sorted(orphaned)),
                               "only cited by dropped opioid sentences"))
    known = {c.n for c in citations}
    missing = referenced - known
    if missing:  # the composer's problem, but never leave a dangling [n]
        sections = tuple(
            replace(sec, sentences=tuple(replace(s, cites=tuple(n for n in s.cites if n in known))
                                         for s in sec.sentences))
            for sec in sections)
        if "invalid_citations_removed" not in flags:
            flags.append("invalid_citations_removed")

    safety = replace(verdict, opioid_rule_applied=verdict.opioid_rule_applied or applied,
                     rules_fired=tuple(rules))
    return answer.with_(
        sections=sections,
        markdown=render(sections),
        citations=tuple(sorted(citations, key=lambda c: c.n)),
        safety=safety,
        flags=tuple(flags),
    )

