"""The versioned safety policy: `policy.yaml` read into frozen, validated records.

The YAML is the only place clinical content lives (findings, combinations, context termsets,
opioid lexicon and wording). This module checks it and expands its phrase syntax; it knows
nothing about spaCy.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from assistant.records import RED_FLAG_CATEGORIES
from core.errors import ConfigError

from .concepts import Concepts, parse_concepts
from .measures import MeasurementRule, parse_measurements
from .relatives import RelativeAsPatient, parse_relatives

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy.yaml")

FINDING_KINDS = ("sign", "risk_factor")
CONTEXTS = ("negated", "historical", "hypothetical", "family", "general", "stable", "possible")
"""Contexts that can make a finding not count. `current` (new/changing) is a modifier.
`possible` (uncertain: "cannot be excluded", "query", "suspected") never removes a finding by
default; it overrides `negated` (only a definite negation removes a finding)."""
TERMSET_KEYS = ("pseudo_negations", "preceding_negations", "following_negations", "termination")
OPIOID = "OPIOID"
"""Entity label of opioid mentions (findings use their finding id as label)."""
NEW_SUFFIX = "@new"
POSSIBLE_SUFFIX = "@possible"
"""A rule term counted only when the finding is uncertain ("?vertebral #", "not yet excluded")."""
"""In a rule, ``finding@new`` counts the finding only when it is described as new or changing."""


def _parse_explained(raw, where: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if raw is None:
        return ((), ())
    if not isinstance(raw, dict) or set(raw) != {"effects", "causes"}:
        raise ConfigError(f"safety policy: {where} must be a mapping with exactly 'effects' and 'causes'")
    return (_strs(raw["effects"], f"{where}.effects"), _strs(raw["causes"], f"{where}.causes"))


@dataclass(frozen=True)
class Category:
    id: str
    label: str
    actions: tuple[str, ...]
    retrieval_query: str
    passage_keywords: tuple[str, ...]
    excluded_by: tuple[str, ...] = ()
    """Findings naming this category's diagnosis: a definite negation of one of them, backed by an
    investigation in its sentence ("CT: no fracture") after everything that made a rule of this
    category fire, resolves that rule."""
    cleared_by: tuple[str, ...] = ()
    """Findings of a normal examination ("power 5/5 throughout"): stated after everything that
    made a rule of this category fire, they resolve it (a complaint the examination did not
    bear out)."""
    normal_by: tuple[str, ...] = ()
    """Findings stating the category's signs normal ("perineal sensation normal", "waterworks
    fine"): in a turn that says it corrects an earlier one ("she meant ..."), they withdraw that
    turn's findings of this category, as a definite negation does. Alone they clear nothing."""
    explained_by: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    """(effects, causes): when every mention that made a rule of this category fire shares its
    sentence with an effect ("drowsy all day ... her legs give way") and the conversation names
    a cause ("baclofen"), the rule is resolved: a known drug effect, not a progressing lesion."""


@dataclass(frozen=True)
class Finding:
    id: str
    kind: str
    phrases: tuple[str, ...]
    """Expanded phrases (placeholders like ``{num}`` kept as written)."""
    ignore_in: frozenset[str]
    diagnosis: bool = False
    """Names a suspected diagnosis ("?CES", "discitis"): a later definite exclusion of the same
    finding in the conversation ("CES excluded") resolves it."""


@dataclass(frozen=True)
class RemoteHistory:
    """A risk factor dated long ago ("ductal carcinoma in 2006", "remote history of") counts as
    another finding, which the rules combine with fewer signs."""

    years: int = 10
    findings: tuple[tuple[str, str], ...] = ()
    """(finding, the finding it becomes when remote)."""
    words: tuple[str, ...] = ()
    """Words that date it as remote on their own ("remote", "decades ago")."""
    recent_words: tuple[str, ...] = ()
    """Words that keep it current whatever its date ("recurrence", "metastatic")."""
    sign_years: int | None = None
    """A sign dated in its own clause by a year at least this many years back ("urinary retention
    after forceps delivery 2021 (scan 700 mL)", "discitis with psoas collection 2018") is history,
    unless the clause says it is recent or new."""


@dataclass(frozen=True)
class GenericMention:
    """A generic word for a finding ("cancer") that refers to a specific thing named in the same
    sentence which is not the finding ("Only 'cancer' history is a BCC"): not counted there."""

    finding: str
    words: frozenset[str]
    specifics: frozenset[str]
    """Expanded phrases (lower case), each also a not-finding."""


@dataclass(frozen=True)
class RuleTerm:
    finding: str
    needs_new: bool = False
    needs_possible: bool = False


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    description: str
    all_of: tuple[tuple[RuleTerm, ...], ...]


@dataclass(frozen=True)
class Termset:
    """One NegEx termset in negspacy's shape."""

    name: str
    pseudo_negations: tuple[str, ...]
    preceding_negations: tuple[str, ...]
    following_negations: tuple[str, ...]
    termination: tuple[str, ...]
    scope_breaks: tuple[str, ...] = ()
    """Words that end the reach of a trigger listed under ``scope`` ("and", ","): "old fracture
    and urinary retention" - only the fracture is old."""
    scope: tuple[tuple[str, str, int], ...] = ()
    """Triggers whose reach is limited: (``preceding`` or ``following``, phrase, most words
    between it and the finding).
    Others reach to the end of the sentence or the next termination phrase, as in NegEx."""

    def as_negspacy(self) -> dict[str, list[str]]:
        return {k: list(getattr(self, k)) for k in TERMSET_KEYS}


@dataclass(frozen=True)
class ClauseBreaks:
    """Where a comma ends a context trigger's reach (see ``clause_breaks`` in the policy)."""

    contexts: tuple[str, ...] = ()
    window: int = 8
    markers: tuple[str, ...] = ()
    list_words: tuple[str, ...] = ()
    new_clause_starts: tuple[str, ...] = ()
    part_ends: tuple[str, ...] = ()
    """Words that end the part read after a comma ("who": a clause about the patient)."""


@dataclass(frozen=True)
class GradeChange:
    """A graded measure compared by number: a later grade below an earlier one is ``finding``."""

    finding: str
    label: str
    scale: str
    grade: str
    """Regular expression with a group ``value`` (and optionally ``mod``: "+" or "-")."""
    earlier: tuple[str, ...]
    later: tuple[str, ...]
    connectors: tuple[str, ...]
    connectors_last: tuple[str, ...]
    not_connectors: tuple[str, ...]
    about: tuple[str, ...] = ()
    not_about: tuple[str, ...] = ()
    timed_rows: str = ""
    """Regular expression for a line's label that names a time ("Mon 0800", "Day 3", "12/03"):
    grades in the same column of such lines are read in the order of the lines (a chart)."""
    new_words: tuple[str, ...] = ()
    """Words that make a reduced grade after them in their sentence new ("NEW: L hip flexion
    4-/5"): compared with a full grade before."""
    baseline_full: tuple[str, ...] = ()
    """Phrases that state the same examination was normal earlier ("all were normal at review
    in March"): an earlier full grade for a reduced grade said now."""
    unchanged: tuple[str, ...] = ()
    """Words after a reduced grade in its sentence that say it is old ("4/5 since her 2015
    discectomy, unchanged"): such a grade is not compared with an earlier full examination."""


@dataclass(frozen=True)
class Escalation:
    heading_prefix: str
    quote_template: str
    secondary_notice: str
    red_flag_doc_ids: tuple[str, ...]
    section_keywords: tuple[str, ...]
    fallback_label: str
    fallback_actions: tuple[str, ...]


@dataclass(frozen=True)
class OpioidPolicy:
    lexicon: tuple[str, ...]
    not_opioid: tuple[str, ...]
    framing_groups: tuple[tuple[str, tuple[str, ...]], ...]
    violation_phrases: tuple[str, ...]
    negated_violations: tuple[str, ...]
    statement: str
    """(missing groups, anchor phrases, text inserted after the anchor)."""
    reservation_passage: tuple[str, ...]
    reservation_query: str
    request_cues: tuple[str, ...]
    notice_heading: str
    pressure_sentence: str
    alternatives_sentence: str
    pressure_notice_heading: str
    pressure_notice: str
    restrictive_cues: tuple[str, ...] = ()
    """A sentence naming an opioid with one of these cautions about opioid use (kept as written,
    with the rule stated beside it) rather than offering one."""


@dataclass(frozen=True)
class Spelling:
    variants: tuple[tuple[str, str], ...]
    fuzzy_min_length: int
    fuzzy_two_edits_from: int
    fuzzy_exclude: frozenset[str]
    fuzzy_known_word_zipf: float | None = None
    """A word at least this frequent in English (wordfreq Zipf scale) is a real word and is never
    corrected to a policy word ("neurogenic" is not "neutropenic")."""


@dataclass(frozen=True)
class BaselineStatement:
    """``baseline_statement``: a turn that says the neurology is unchanged ("No new neurology",
    "neuro stable") makes the listed findings it names without a change or time word
    ("walks with a right foot drop") part of that baseline, i.e. stable."""

    findings: frozenset[str] = frozenset()
    pattern: re.Pattern | None = None


def _baseline_statement(raw, finding_ids: set[str]) -> BaselineStatement:
    if raw is None:
        return BaselineStatement()
    if not isinstance(raw, dict):
        raise ConfigError("safety policy: baseline_statement must be a mapping with findings and phrases")
    findings = _strs(raw.get("findings") or [], "baseline_statement.findings")
    bad = [f for f in findings if f not in finding_ids]
    if bad:
        raise ConfigError(f"safety policy: baseline_statement.findings names unknown finding(s) {bad}")
    phrases = _strs(raw.get("phrases") or [], "baseline_statement.phrases")
    if not findings or not phrases:
        raise ConfigError("safety policy: baseline_statement needs non-empty findings and phrases")
    rx = re.compile(r"(?<![\w])(?:" + "|".join(sorted(phrases, key=len, reverse=True)) + r")(?![\w])", re.IGNORECASE)
    return BaselineStatement(frozenset(findings), rx)


@dataclass(frozen=True, eq=False)
class Policy:
    """The whole safety policy. Compared and cached by ``fingerprint`` (hash of the file)."""

    version: str
    last_reviewed: str
    reviewed_by: str
    path: str
    fingerprint: str
    categories: tuple[Category, ...]
    findings: tuple[Finding, ...]
    rules: tuple[Rule, ...]
    not_findings: tuple[str, ...]
    contexts: tuple[Termset, ...]
    """negated, historical, hypothetical, family, general, stable, possible, current."""
    patient_anchors: tuple[str, ...]
    general_question_marks: tuple[str, ...]
    placeholders: tuple[tuple[str, str], ...]
    spelling: Spelling
    pressure_phrases: tuple[str, ...]
    opioids: OpioidPolicy
    escalation: Escalation
    clause_breaks: ClauseBreaks = ClauseBreaks()
    grade_changes: tuple[GradeChange, ...] = ()
    measurements: tuple[MeasurementRule, ...] = ()
    concepts: Concepts = Concepts()
    relative_as_patient: RelativeAsPatient = RelativeAsPatient()
    general_turn_markers: tuple[str, ...] = ()
    """A turn saying it is about no particular patient is not anchored to one."""
    generic_mentions: tuple[GenericMention, ...] = ()
    exclusion_evidence: tuple[str, ...] = ()
    """Words of an investigation ("CT", "MRI", "x-ray") that make a negation an exclusion."""
    remote_history: RemoteHistory = RemoteHistory()
    dated_episode: re.Pattern | None = None
    """A past episode dated and then described: findings after it in the sentence are history."""
    baseline_statement: BaselineStatement = BaselineStatement()
    """A turn saying the neurology is unchanged makes the undated deficits it names baseline."""
    corrections: re.Pattern | None = None
    """A later turn saying it corrects an earlier one ("autocorrect", "I meant", "entered wrong"):
    what it definitely negates withdraws the earlier turn's findings of the same category."""
    corrections_dated: re.Pattern | None = None
    """In a correcting turn, a sentence that dates what was said before ("that was in 2018"):
    every finding of the turn before was history, not only those the turn negates."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and other.fingerprint == self.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def category(self, cid: str) -> Category:
        for c in self.categories:
            if c.id == cid:
                return c
        raise KeyError(cid)

    def finding(self, fid: str) -> Finding:
        for f in self.findings:
            if f.id == fid:
                return f
        raise KeyError(fid)

    def termset(self, name: str) -> Termset:
        for t in self.contexts:
            if t.name == name:
                return t
        raise KeyError(name)


# --- phrase syntax ----------------------------------------------------------------------------

_GROUP_TOKENS = re.compile(r"\(|\)|\|")


def expand_phrase(phrase: str) -> list[str]:
    """Expand ``"(a|b) c (|d)"`` (groups may nest) into every alternative, whitespace collapsed.

    >>> expand_phrase("(saddle|perineal) (numbness|anaesthesia)")[:2]
    ['saddle numbness', 'saddle anaesthesia']
    """
    pos = 0

    def seq() -> list[str]:
        nonlocal pos
        outs = [""]
        while pos < len(phrase):
            ch = phrase[pos]
            if ch == "(":
                pos += 1
                alts = alternatives()
                outs = [a + b for a in outs for b in alts]
            elif ch in ")|":
                return outs
            else:
                m = _GROUP_TOKENS.search(phrase, pos)
                end = m.start() if m else len(phrase)
                lit = phrase[pos:end]
                outs = [a + lit for a in outs]
                pos = end
        return outs

    def alternatives() -> list[str]:
        nonlocal pos
        alts: list[str] = []
        while True:
            alts.extend(seq())
            if pos >= len(phrase):
                raise ConfigError(f"unbalanced '(' in policy phrase {phrase!r}")
            ch = phrase[pos]
            pos += 1
            if ch == ")":
                return alts
            # ch == "|": next alternative

    result = seq()
    if pos < len(phrase):
        raise ConfigError(f"unbalanced ')' in policy phrase {phrase!r}")
    out: dict[str, None] = {}
    for r in result:
        r = " ".join(r.split())
        if r:
            out[r] = None
    return list(out)


def expand_all(phrases, where: str) -> tuple[str, ...]:
    if isinstance(phrases, str) or not isinstance(phrases, (list, tuple)):
        raise ConfigError(f"{where} must be a list of phrases, got {phrases!r}")
    out: dict[str, None] = {}
    for p in phrases:
        if not isinstance(p, str) or not p.strip():
            raise ConfigError(f"{where}: every phrase must be non-empty text, got {p!r}")
        p = " ".join(p.lower().split())
        if "{" in p:
            # Placeholder phrases stay in group form: they become one compact token pattern
            # (see context.token_patterns) instead of hundreds of expanded ones.
            expand_phrase(p)  # syntax check only
            expanded = [p]
        else:
            expanded = expand_phrase(p)
        for e in expanded:
            out[e] = None
    return tuple(out)


_NUM_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
              "a few", "few", "several", "many")


def expand_numbers(phrases: tuple[str, ...]) -> tuple[str, ...]:
    """Termset phrases are literal (NegEx matches them as phrases): spell ``{num}`` out."""
    out: list[str] = []
    for p in phrases:
        if "{num}" in p:
            nums = [str(i) for i in range(1, 32)] + list(_NUM_WORDS)
            out.extend(p.replace("{num}", n) for n in nums)
        else:
            out.append(p)
    return tuple(dict.fromkeys(out))


# --- loading ----------------------------------------------------------------------------------

def _req(d: dict, key: str, where: str, typ=str):
    if not isinstance(d, dict) or key not in d:
        raise ConfigError(f"safety policy: {where} is missing {key!r}")
    v = d[key]
    if typ is str and not (isinstance(v, str) and v.strip()):
        raise ConfigError(f"safety policy: {where}.{key} must be non-empty text, got {v!r}")
    if typ is not str and not isinstance(v, typ):
        raise ConfigError(f"safety policy: {where}.{key} has the wrong type: {v!r}")
    return v


def _strs(v, where: str) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ConfigError(f"safety policy: {where} must be a list of text, got {v!r}")
    return tuple(x.lower() for x in v)


def _termset(name: str, raw: dict) -> Termset:
    where = f"context.{name}"
    if not isinstance(raw, dict):
        raise ConfigError(f"safety policy: {where} must be a mapping")
    if "base" in raw:
        from negspacy.termsets import termset

        try:
            base = termset(raw["base"]).get_patterns()
        except KeyError:
            raise ConfigError(f"safety policy: {where}.base {raw['base']!r} is not a negspacy termset") from None
        terms = {k: list(base[k]) for k in TERMSET_KEYS}
        for op in ("remove", "add"):
            for k, vals in (raw.get(op) or {}).items():
                if k not in TERMSET_KEYS:
                    raise ConfigError(f"safety policy: {where}.{op}.{k} is not one of {', '.join(TERMSET_KEYS)}")
                vals = _strs(vals, f"{where}.{op}.{k}")
                if op == "remove":
                    terms[k] = [t for t in terms[k] if t not in vals]
                else:
                    terms[k] = list(dict.fromkeys(terms[k] + list(vals)))
    else:
        short = {"pseudo": "pseudo_negations", "preceding": "preceding_negations",
                 "following": "following_negations", "termination": "termination"}
        unknown = set(raw) - set(short) - {"scope", "scope_breaks"}
        if unknown:
            raise ConfigError(f"safety policy: {where} has unknown keys {sorted(unknown)}")
        terms = {short[k]: list(_strs(raw.get(k) or [], f"{where}.{k}")) for k in short}
    # The phrase syntax works in triggers too: "since (her|his) {year} relapse".
    terms = {k: list(dict.fromkeys(x for t in v for x in (expand_phrase(t) if "(" in t else [t])))
             for k, v in terms.items()}
    scope_raw = raw.get("scope") or {}
    if not isinstance(scope_raw, dict) or set(scope_raw) - {"preceding", "following"}:
        raise ConfigError(f"safety policy: {where}.scope must map preceding/following to "
                          f"{{trigger phrase: number of words}}")
    scope = []
    for direction, limits in scope_raw.items():
        key = f"{direction}_negations"
        if not isinstance(limits, dict):
            raise ConfigError(f"safety policy: {where}.scope.{direction} must be a mapping of trigger phrase to a number of words")
        for phrase, n in limits.items():
            phrase = str(phrase).lower()
            if phrase != "*" and phrase not in terms[key]:
                raise ConfigError(f"safety policy: {where}.scope.{direction} names {phrase!r}, "
                                  f"which is not one of its {direction} triggers")
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise ConfigError(f"safety policy: {where}.scope.{direction}.{phrase} must be a whole "
                                  f"number of words >= 0, got {n!r}")
            scope.append((direction, phrase, n))
    breaks = _strs(raw.get("scope_breaks") or [], f"{where}.scope_breaks")
    return Termset(name, *(expand_numbers(tuple(terms[k])) for k in TERMSET_KEYS), scope_breaks=breaks,
                   scope=tuple(scope))


def parse_policy(text: str, path: str = "<memory>") -> Policy:
    """Parse and validate policy YAML text; ConfigError names the bad key or value."""
    try:
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        raise ConfigError(f"safety policy {path} is not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"safety policy {path} must be a mapping at the top level")
    version = str(_req(raw, "version", "policy", object)).strip()
    if not version:
        raise ConfigError("safety policy: version must not be empty")

    cats_raw = _req(raw, "categories", "policy", dict)
    unknown = set(cats_raw) - set(RED_FLAG_CATEGORIES)
    if unknown:
        raise ConfigError(f"safety policy: unknown red-flag categories {sorted(unknown)}; "
                          f"allowed: {', '.join(RED_FLAG_CATEGORIES)}")
    categories = []
    for cid, c in cats_raw.items():
        w = f"categories.{cid}"
        categories.append(Category(
            id=cid, label=_req(c, "label", w), actions=_strs_keep(_req(c, "actions", w, list), w),
            retrieval_query=_req(c, "retrieval_query", w),
            passage_keywords=_strs(c.get("passage_keywords") or [cid.replace("_", " ")], w),
            excluded_by=_strs(c.get("excluded_by") or [], f"{w}.excluded_by"),
            cleared_by=_strs(c.get("cleared_by") or [], f"{w}.cleared_by"),
            normal_by=_strs(c.get("normal_by") or [], f"{w}.normal_by"),
            explained_by=_parse_explained(c.get("explained_by"), f"{w}.explained_by")))

    defaults = _req(raw, "finding_defaults", "policy", dict)
    drug_phrases = _drug_phrases(raw, path)
    findings: list[Finding] = []
    seen_phrases: dict[str, str] = {}
    for fid, f in _req(raw, "findings", "policy", dict).items():
        w = f"findings.{fid}"
        kind = _req(f, "kind", w)
        if kind not in FINDING_KINDS:
            raise ConfigError(f"safety policy: {w}.kind {kind!r} is not one of {', '.join(FINDING_KINDS)}")
        ignore = f.get("ignore_in", (defaults.get(kind) or {}).get("ignore_in"))
        ignore = set(_strs(ignore or [], f"{w}.ignore_in"))
        bad = ignore - set(CONTEXTS)
        if bad:
            raise ConfigError(f"safety policy: {w}.ignore_in has unknown contexts {sorted(bad)}; "
                              f"allowed: {', '.join(CONTEXTS)}")
        phrases = expand_all(_req(f, "phrases", w, list), f"{w}.phrases")
        # Library names for the finding's drug class (a name already used elsewhere stays there).
        extra = [p for p in drug_phrases.get(fid, ()) if p not in seen_phrases and p not in phrases]
        phrases = phrases + tuple(extra)
        for p in phrases:
            if p in seen_phrases and seen_phrases[p] != fid:
                raise ConfigError(f"safety policy: phrase {p!r} is listed under both "
                                  f"{seen_phrases[p]!r} and {fid!r}")
            seen_phrases[p] = fid
        diagnosis = f.get("diagnosis", False)
        if not isinstance(diagnosis, bool):
            raise ConfigError(f"safety policy: {w}.diagnosis must be true or false, got {diagnosis!r}")
        findings.append(Finding(fid, kind, phrases, frozenset(ignore), diagnosis))
    finding_ids = {f.id for f in findings}
    for c in categories:
        for key in ("excluded_by", "cleared_by", "normal_by"):
            bad = [f for f in getattr(c, key) if f not in finding_ids]
            if bad:
                raise ConfigError(f"safety policy: categories.{c.id}.{key} names unknown findings {bad}")
        for part, names in zip(("effects", "causes"), c.explained_by):
            bad = [f for f in names if f not in finding_ids]
            if bad:
                raise ConfigError(f"safety policy: categories.{c.id}.explained_by.{part} names unknown findings {bad}")

    rules = []
    for i, r in enumerate(_req(raw, "rules", "policy", list)):
        w = f"rules[{i}]"
        rid = _req(r, "id", w)
        cat = _req(r, "category", w)
        if cat not in cats_raw:
            raise ConfigError(f"safety policy: rule {rid!r} has category {cat!r}, "
                              f"which is not under categories")
        groups = _req(r, "all_of", w, list)
        if not groups:
            raise ConfigError(f"safety policy: rule {rid!r} has an empty all_of")
        parsed = []
        for g in groups:
            if isinstance(g, str):
                g = [g]
            terms = []
            for name in g:
                needs_new = isinstance(name, str) and name.endswith(NEW_SUFFIX)
                needs_possible = isinstance(name, str) and name.endswith(POSSIBLE_SUFFIX)
                fid = (name[: -len(NEW_SUFFIX)] if needs_new
                       else name[: -len(POSSIBLE_SUFFIX)] if needs_possible else name)
                if fid not in finding_ids:
                    raise ConfigError(f"safety policy: rule {rid!r} refers to unknown finding {name!r}")
                terms.append(RuleTerm(fid, needs_new, needs_possible))
            parsed.append(tuple(terms))
        rules.append(Rule(rid, cat, str(r.get("description", "")), tuple(parsed)))
    if len({r.id for r in rules}) != len(rules):
        raise ConfigError("safety policy: rule ids must be unique")

    ctx_raw = _req(raw, "context", "policy", dict)
    names = CONTEXTS + ("current",)
    missing = [n for n in names if n not in ctx_raw]
    if missing:
        raise ConfigError(f"safety policy: context is missing {missing}")
    contexts = tuple(_termset(n, ctx_raw[n]) for n in names)

    placeholders = raw.get("placeholders") or {}
    if not isinstance(placeholders, dict):
        raise ConfigError("safety policy: placeholders must be a mapping of name to regex")
    for k, v in placeholders.items():
        if not re.fullmatch(r"[a-z]+", str(k)):
            raise ConfigError(f"safety policy: placeholder name {k!r} must be lowercase letters only")
        try:
            re.compile(v)
        except (re.error, TypeError):
            raise ConfigError(f"safety policy: placeholder {k!r} has an invalid regex {v!r}") from None

    sp = _req(raw, "spelling", "policy", dict)
    fz = _req(sp, "fuzzy", "spelling", dict)
    spelling = Spelling(
        variants=tuple((str(k).lower(), str(v).lower()) for k, v in (sp.get("variants") or {}).items()),
        fuzzy_min_length=int(fz.get("min_length", 6)),
        fuzzy_two_edits_from=int(fz.get("two_edits_from", 10)),
        fuzzy_exclude=frozenset(_strs(fz.get("exclude") or [], "spelling.fuzzy.exclude")),
        fuzzy_known_word_zipf=_opt_float(fz.get("known_word_zipf"), "spelling.fuzzy.known_word_zipf"),
    )

    op = _req(raw, "opioids", "policy", dict)
    groups_raw = _req(op, "framing_groups", "opioids", dict)
    lexicon = expand_all(_req(op, "lexicon", "opioids", list), "opioids.lexicon")
    lexicon = lexicon + tuple(p for p in drug_phrases.get("opioids", ()) if p not in lexicon)
    opioids = OpioidPolicy(
        lexicon=lexicon,
        not_opioid=expand_all(op.get("not_opioid") or [], "opioids.not_opioid"),
        framing_groups=tuple((k, expand_all(v, f"opioids.framing_groups.{k}")) for k, v in groups_raw.items()),
        violation_phrases=expand_all(_req(op, "violation_phrases", "opioids", list), "opioids.violation_phrases"),
        negated_violations=expand_all(op.get("negated_violations") or [], "opioids.negated_violations"),
        statement=_req(op, "statement", "opioids"),
        reservation_passage=_strs(_req(op, "reservation_passage", "opioids", list), "opioids.reservation_passage"),
        reservation_query=_req(op, "reservation_query", "opioids"),
        request_cues=expand_all(_req(op, "request_cues", "opioids", list), "opioids.request_cues"),
        notice_heading=_req(op, "notice_heading", "opioids"),
        pressure_sentence=_req(op, "pressure_sentence", "opioids"),
        alternatives_sentence=_req(op, "alternatives_sentence", "opioids"),
        restrictive_cues=expand_all(op.get("restrictive_cues") or [], "opioids.restrictive_cues"),
        pressure_notice_heading=_req(op, "pressure_notice_heading", "opioids"),
        pressure_notice=_req(op, "pressure_notice", "opioids"),
    )
    if not groups_raw:
        raise ConfigError("safety policy: opioids.framing_groups must name at least one group")

    esc = _req(raw, "escalation", "policy", dict)
    escalation = Escalation(
        heading_prefix=_req(esc, "heading_prefix", "escalation"),
        quote_template=_req(esc, "quote_template", "escalation"),
        secondary_notice=_req(esc, "secondary_notice", "escalation"),
        red_flag_doc_ids=tuple(esc.get("red_flag_doc_ids") or ()),
        section_keywords=_strs(esc.get("section_keywords") or [], "escalation.section_keywords"),
        fallback_label=_req(esc, "fallback_label", "escalation"),
        fallback_actions=_strs_keep(_req(esc, "fallback_actions", "escalation", list), "escalation.fallback_actions"),
    )
    for key in ("{label}", "{quotes}"):
        if key not in escalation.quote_template:
            raise ConfigError(f"safety policy: escalation.quote_template must contain {key}")

    clause_breaks = _clause_breaks(raw.get("clause_breaks"))
    grade_changes = _grade_changes(raw.get("grade_changes"), finding_ids)
    measurements = parse_measurements(raw.get("measurements"), finding_ids)
    concepts = parse_concepts(raw.get("concepts"), finding_ids, expand_all)

    return Policy(
        version=version,
        last_reviewed=str(raw.get("last_reviewed", "")),
        reviewed_by=str(raw.get("reviewed_by", "")),
        path=str(path),
        fingerprint=hashlib.sha256((text + repr(sorted(drug_phrases.items()))).encode("utf-8")).hexdigest(),
        categories=tuple(categories),
        findings=tuple(findings),
        rules=tuple(rules),
        not_findings=expand_all(raw.get("not_findings") or [], "not_findings"),
        contexts=contexts,
        patient_anchors=expand_all(_req(raw, "patient_anchors", "policy", list), "patient_anchors"),
        general_question_marks=tuple(raw.get("general_question_marks") or ("?",)),
        placeholders=tuple((str(k), str(v)) for k, v in placeholders.items()),
        spelling=spelling,
        pressure_phrases=expand_all(_req(raw, "pressure_phrases", "policy", list), "pressure_phrases"),
        opioids=opioids,
        escalation=escalation,
        clause_breaks=clause_breaks,
        grade_changes=grade_changes,
        measurements=measurements,
        concepts=concepts,
        relative_as_patient=parse_relatives(raw.get("relative_as_patient")),
        general_turn_markers=expand_all(raw.get("general_turn_markers") or [], "general_turn_markers"),
        generic_mentions=_generic_mentions(raw, finding_ids),
        remote_history=_remote_history(raw.get("remote_history"), finding_ids),
        dated_episode=_regex(raw.get("dated_episode"), "dated_episode"),
        baseline_statement=_baseline_statement(raw.get("baseline_statement"), finding_ids),
        corrections=_regex(raw.get("corrections"), "corrections"),
        corrections_dated=_regex(raw.get("corrections_dated"), "corrections_dated"),
        exclusion_evidence=tuple(w.lower() for w in _strs(raw.get("exclusion_evidence") or [], "exclusion_evidence")),
    )


def _remote_history(raw, finding_ids: set[str]) -> RemoteHistory:
    if raw is None:
        return RemoteHistory()
    if not isinstance(raw, dict):
        raise ConfigError("safety policy: remote_history must be a mapping")
    years = raw.get("years", 10)
    if isinstance(years, bool) or not isinstance(years, int) or years < 1:
        raise ConfigError(f"safety policy: remote_history.years must be a whole number of years, got {years!r}")
    pairs = []
    for src, dst in (raw.get("findings") or {}).items():
        for f in (src, dst):
            if f not in finding_ids:
                raise ConfigError(f"safety policy: remote_history.findings names unknown finding {f!r}")
        pairs.append((src, dst))
    sign_years = raw.get("sign_years")
    if sign_years is not None and (isinstance(sign_years, bool) or not isinstance(sign_years, int) or sign_years < 1):
        raise ConfigError(f"safety policy: remote_history.sign_years must be a whole number of years, got {sign_years!r}")
    return RemoteHistory(years=years, findings=tuple(pairs), sign_years=sign_years,
                         words=_strs(raw.get("words") or [], "remote_history.words"),
                         recent_words=_strs(raw.get("recent_words") or [], "remote_history.recent_words"))


def _regex(v, where: str) -> re.Pattern | None:
    if v is None:
        return None
    try:
        return re.compile(str(v))
    except re.error as e:
        raise ConfigError(f"safety policy: {where} is not a valid regular expression ({e}): {v!r}") from None


def _opt_float(v, where: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"safety policy: {where} must be a number, got {v!r}")
    return float(v)


def _generic_mentions(raw: dict, finding_ids: set[str]) -> tuple[GenericMention, ...]:
    out = []
    not_findings = set(expand_all(raw.get("not_findings") or [], "not_findings"))
    for i, g in enumerate(raw.get("generic_mentions") or []):
        w = f"generic_mentions[{i}]"
        fid = _req(g, "finding", w)
        if fid not in finding_ids:
            raise ConfigError(f"safety policy: {w}.finding {fid!r} is not under findings")
        specifics = expand_all(_req(g, "specifics", w, list), f"{w}.specifics")
        missing = [p for p in specifics if p not in not_findings]
        if missing:
            raise ConfigError(f"safety policy: {w}.specifics must also be not_findings; "
                              f"{missing[0]!r} is not")
        out.append(GenericMention(fid, frozenset(expand_all(_req(g, "words", w, list), f"{w}.words")),
                                  frozenset(specifics)))
    return tuple(out)


def _drug_phrases(raw: dict, path: str) -> dict[str, list[str]]:
    """Finding id (or ``opioids``) -> drug names from the generated drug-name file."""
    dc = raw.get("drug_classes")
    if not dc:
        return {}
    from .drug_names import load_names

    classes = dc.get("classes") or {}
    unknown = set(classes) - set((raw.get("findings") or {})) - {"opioids"}
    if unknown:
        raise ConfigError(f"safety policy: drug_classes names unknown findings {sorted(unknown)}")
    name = dc.get("file", "drug_names.yaml")
    # Beside the policy file; a policy parsed from text or copied alone uses the shipped file
    # (its class lists are still checked against the ones in this policy).
    beside = Path(path).parent / name
    f = beside if path != "<memory>" and beside.exists() else DEFAULT_POLICY_PATH.parent / name
    return load_names(f, classes, dc.get("exclude") or [])


def _clause_breaks(raw) -> ClauseBreaks:
    if raw is None:
        return ClauseBreaks()
    w = "clause_breaks"
    if not isinstance(raw, dict):
        raise ConfigError(f"safety policy: {w} must be a mapping")
    contexts = _strs(raw.get("contexts") or [], f"{w}.contexts")
    bad = set(contexts) - set(CONTEXTS)
    if bad:
        raise ConfigError(f"safety policy: {w}.contexts has unknown contexts {sorted(bad)}; "
                          f"allowed: {', '.join(CONTEXTS)}")
    window = raw.get("window", 8)
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        raise ConfigError(f"safety policy: {w}.window must be a positive whole number, got {window!r}")
    markers = expand_numbers(expand_all(_req(raw, "markers", w, list), f"{w}.markers"))
    return ClauseBreaks(
        contexts=contexts, window=window, markers=markers,
        list_words=expand_all(raw.get("list_words") or [], f"{w}.list_words"),
        new_clause_starts=expand_all(raw.get("new_clause_starts") or [], f"{w}.new_clause_starts"),
        part_ends=_strs(raw.get("part_ends") or [], f"{w}.part_ends"))


def _grade_changes(raw, finding_ids: set[str]) -> tuple[GradeChange, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("safety policy: grade_changes must be a list")
    out = []
    for i, g in enumerate(raw):
        w = f"grade_changes[{i}]"
        fid = _req(g, "finding", w)
        if fid not in finding_ids:
            raise ConfigError(f"safety policy: {w} refers to unknown finding {fid!r}")
        rx = _req(g, "grade", w)
        try:
            compiled = re.compile(rx)
        except re.error:
            raise ConfigError(f"safety policy: {w}.grade has an invalid regex {rx!r}") from None
        if "value" not in compiled.groupindex:
            raise ConfigError(f"safety policy: {w}.grade must have a group named 'value'")

        def words(key: str, required: bool = True) -> tuple[str, ...]:
            v = _req(g, key, w, list) if required else (g.get(key) or [])
            return expand_numbers(expand_all(v, f"{w}.{key}")) if v else ()

        rows = _regex(g.get("timed_rows"), f"{w}.timed_rows")
        out.append(GradeChange(
            finding=fid, label=_req(g, "label", w), scale=str(g.get("scale", "")).strip(), grade=rx,
            earlier=words("earlier"), later=words("later"), connectors=words("connectors"),
            connectors_last=words("connectors_last", False), not_connectors=words("not_connectors", False),
            about=words("about", False), not_about=words("not_about", False),
            timed_rows=rows.pattern if rows else "",
            baseline_full=words("baseline_full", False), new_words=words("new_words", False),
            unchanged=words("unchanged", False)))
    return tuple(out)


def _strs_keep(v, where: str) -> tuple[str, ...]:
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x.strip() for x in v):
        raise ConfigError(f"safety policy: {where} must be a non-empty list of text, got {v!r}")
    return tuple(v)


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int, size: int) -> Policy:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"safety policy {path} cannot be read: {e.strerror}") from None
    return parse_policy(text, path)


def load_policy(path: Path | str | None = None) -> Policy:
    """Load (and cache) the policy; the default is ``assistant/safety/policy.yaml``.

    The cache key includes the file's mtime and size, so an edited file is re-read.
    """
    p = Path(path) if path is not None else DEFAULT_POLICY_PATH
    try:
        st = p.stat()
    except OSError:
        raise ConfigError(f"safety policy file {p} does not exist") from None
    # A relative path depends on the working directory: resolved every time.
    resolved = _resolved(str(p)) if p.is_absolute() else str(p.resolve())
    return _load_cached(resolved, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=64)
def _resolved(path: str) -> str:
    """The absolute path a policy path names (resolved once: this runs several times per answer)."""
    return str(Path(path).resolve())


def all_phrase_words(policy: Policy) -> set[str]:
    """Every alphabetic word used in finding and opioid phrases (the fuzzy-spelling targets)."""
    words: set[str] = set()
    for p in itertools.chain(*(f.phrases for f in policy.findings), policy.opioids.lexicon,
                             policy.concepts.phrases()):
        for w in re.split(r"[^a-z]+", p):
            if w:
                words.add(w)
    return words
