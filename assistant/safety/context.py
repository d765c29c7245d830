"""Clinical context of findings: a spaCy pipeline built from the policy, with negspacy NegEx.

Pipeline (blank English, no model download):

    tokenizer -> safety_spelling (NORM = canonical spelling: variants, then fuzzy match)
              -> safety_line_breaks (a new line starts a sentence: notes are line-based)
              -> sentencizer
              -> entity_ruler (findings, opioid names and look-alikes, from the policy)
              -> safety_clause_breaks (commas after which a new, positively stated finding
                 begins: "no trauma, retention since yesterday")
              -> safety_negex x 8 (negspacy's NegEx, one instance per context, each with the
                 policy's termset and its own extension: negated, historical, hypothetical,
                 family, general, stable, possible, current; the contexts listed under the
                 policy's ``clause_breaks`` also terminate at those commas; a trigger listed
                 under a termset's ``scope`` reaches only that many words)

Negation and the other contexts therefore come from the NegEx algorithm as implemented by
negspacy; the policy only supplies the trigger phrases and where a comma ends a trigger's reach.
``possible`` (uncertain: "cannot be excluded", "?CES") overrides ``negated`` on the same mention.
``span_contexts`` gives the context of spans chosen by the caller (a benchmark's annotated
conditions) through the same pipeline.
Graded findings ("MRC 4/5 last week, 2/5 today") are found by ``grades.declines`` and get their
context from the same NegEx passes. ``analyze`` runs the NegEx passes through
``run_negex`` (negspacy's own methods, a faster loop over the findings). Pipelines are built once
per process and policy (keyed by the policy file's hash).
"""

from __future__ import annotations

import bisect
import functools
import re
import threading
from dataclasses import dataclass

from ._spacy import spacy  # noqa: I001 - first: spaCy without torch
from negspacy.negation import Negex  # also registers the "negex" factory
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.matcher.levenshtein import levenshtein
from spacy.tokens import Doc, Span

from core.errors import InputError

from .forms import checkbox_answer, quoted_from_document
from .grades import declines
from .concepts import PartHit, combine
from .measures import line_at, readings
from .relatives import relative_is_patient, relative_pronoun_before
from .policy import CONTEXTS, OPIOID, Policy, all_phrase_words, expand_phrase

CONTEXT_NAMES = CONTEXTS + ("current",)
NOT_OPIOID = "NOT_OPIOID"
NOT_FINDING = "NOT_FINDING"
ANCHOR = "ANCHOR"
GENERAL_TURN = "GENERAL_TURN"
PRESSURE = "PRESSURE"
REQUEST = "REQUEST"
TARGET = "TARGET"
"""Label of a span whose context was asked for by position (``span_contexts``)."""
_MAX_CACHE = 50_000
SPAN_KEY = "safety_mentions"
DERIVED_KEY = "safety_derived"
"""Findings read from grades, measurements and concept combinations (known to the comma rule)."""
TARGETS_KEY = "safety_targets"


def ext_name(ctx: str) -> str:
    return f"safety_{ctx}"


# --- pipeline components ------------------------------------------------------------------------

PLACEHOLDER_PREFIX = "zzph"
"""Word classes (``{num}``, ``{temp}``) become this prefix plus the class names, e.g.
``zzphnumztemp`` for "38.5" (a number and a febrile temperature): one alphabetic token, so
phrase matching (fast) can handle them."""


def class_symbol(names) -> str:
    return PLACEHOLDER_PREFIX + "z".join(sorted(names))


@functools.lru_cache(maxsize=8)
def _feasible_classes(placeholders: tuple[tuple[str, str], ...]) -> tuple[tuple[str, ...], ...]:
    """The sets of word classes one token can belong to together ("38.5": num and temp; "2012":
    num and year), found on probe tokens: numbers, decimals, clock times, years, counts in
    words and numbers with units. Only these need a pattern variant; all combinations of five
    classes would multiply every phrase with two placeholders by 256."""
    rxs = [(n, re.compile(rx)) for n, rx in placeholders]
    probes = [str(n) for n in range(0, 3001)]
    probes += [f"{a}{sep}{b}" for a in range(0, 120) for sep in ".," for b in range(10)]
    probes += [f"{h}:{m:02d}" for h in range(0, 24) for m in (0, 15, 30, 45)]
    probes += [f"{h}.{m:02d}" for h in range(0, 24) for m in (0, 15, 30, 45)]
    probes += [f"{n}{u}" for n in (1, 2, 3, 4, 5, 9, 10, 12, 20, 38, 100)
               for u in ("am", "a.m.", "pm", "lb", "lbs", "kg", "kgs", "kilos", "c", "°c", "f", "°f", "mg", "ml")]
    probes += ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
    found = {tuple(n for n, rx in rxs if rx.search(p.lower())) for p in probes}
    return tuple(sorted(c for c in found if c))


def placeholder_phrases(phrase: str, placeholders: dict[str, str]) -> list[str]:
    """Expand groups, then replace each ``{name}`` with every class symbol that includes it."""
    names = sorted(placeholders)
    out: list[str] = []
    for p in expand_phrase(phrase):
        variants = [p]
        for m in re.finditer(r"\{([a-z]+)\}", p):
            name = m.group(1)
            if name not in placeholders:
                from core.errors import ConfigError

                raise ConfigError(f"safety policy: phrase {phrase!r} uses unknown placeholder "
                                  f"{{{name}}}; define it under placeholders")
            symbols = [class_symbol(c) for c in _feasible_classes(tuple(sorted(placeholders.items())))
                       if name in c]
            variants = [v.replace("{" + name + "}", sym, 1) for v in variants for sym in symbols]
        out.extend(variants)
    return list(dict.fromkeys(out))


_LITERAL_VALUES = {"num": [str(n) for n in range(0, 101)], "year": [str(y) for y in range(1950, 2031)]}


def literal_placeholders(phrases) -> list[str]:
    """Context triggers with ``{num}`` (0-100) or ``{year}`` (1950-2030) written out: NegEx
    matches trigger phrases word for word, not through the spelling classes findings use."""
    out: list[str] = []
    for p in phrases:
        variants = [p]
        for name, values in _LITERAL_VALUES.items():
            key = "{" + name + "}"
            variants = [v.replace(key, val, 1) if key in v else v for v in variants for val in (values if key in v else [None])]
        out.extend(variants)
    return list(dict.fromkeys(out))


def _zipf(word: str) -> float:
    from wordfreq import zipf_frequency  # loaded only when a near-miss needs checking

    return zipf_frequency(word, "en")


@Language.factory(
    "safety_spelling",
    default_config={"variants": {}, "lexicon": [], "min_length": 6, "two_edits_from": 10, "exclude": [],
                    "classes": {}, "known_word_zipf": None},
)
class SpellingNormalizer:
    """Sets ``token.norm_`` to the policy's spelling of a word, tolerating small misspellings.

    Order: explicit variant map, exact policy word, then the closest policy word of at least
    ``min_length`` letters with the same first letter within 1 edit (2 from ``two_edits_from``
    letters). Patterns are normalised by the same component, so both sides agree. A word that
    English usage knows (``known_word_zipf``, from the wordfreq library) is never corrected.
    """

    def __init__(self, nlp, name, variants, lexicon, min_length, two_edits_from, exclude, classes,
                 known_word_zipf=None):
        self.classes = [(n, re.compile(rx)) for n, rx in sorted(classes.items())]
        self.variants = dict(variants)
        self.lexicon = set(lexicon)
        self.min_length = min_length
        self.two_edits_from = two_edits_from
        self.exclude = set(exclude)
        self.known_word_zipf = known_word_zipf
        self.by_initial: dict[str, list[str]] = {}
        for w in sorted(self.lexicon):
            if len(w) >= min_length:
                self.by_initial.setdefault(w[0], []).append(w)
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def norm(self, low: str) -> str:
        hit = self._cache.get(low)
        if hit is not None:
            return hit
        out = self._compute(low)
        with self._lock:
            if len(self._cache) > _MAX_CACHE:
                self._cache.clear()
            self._cache[low] = out
        return out

    def _compute(self, low: str) -> str:
        if low.startswith(PLACEHOLDER_PREFIX):
            return low
        matched = [n for n, rx in self.classes if rx.search(low)]
        if matched:
            return class_symbol(matched)
        if low in self.variants:
            return self.variants[low]
        if low in self.lexicon or low in self.exclude or not low.isalpha() or len(low) < self.min_length - 1:
            return low
        best: tuple[int, str] | None = None
        for w in self.by_initial.get(low[0], ()):
            k = 2 if len(w) >= self.two_edits_from else 1
            if abs(len(w) - len(low)) > k:
                continue
            d = levenshtein(low, w, k)
            if d <= k and (best is None or (d, w) < best):
                best = (d, w)
        if best and self.known_word_zipf is not None and _zipf(low) >= self.known_word_zipf:
            return low  # a real word, not a misspelling
        return best[1] if best else low

    def __call__(self, doc: Doc) -> Doc:
        for t in doc:
            t.norm_ = self.norm(t.lower_)
        return doc


@Language.component("safety_line_breaks")
def line_breaks(doc: Doc) -> Doc:
    """A token after a line break starts a sentence (clinical notes are line-based)."""
    for i in range(len(doc) - 1):
        t = doc[i]
        if t.is_space and "\n" in t.text:
            doc[i + 1].is_sent_start = True
    return doc


@Language.component("safety_query_marks")
def query_marks(doc: Doc) -> Doc:
    """A question mark written onto the next word ("?saddle numbness", "?CES") marks that word as
    queried; it does not end a sentence."""
    for i in range(len(doc) - 1):
        t = doc[i]
        if t.text == "?" and not t.whitespace_ and doc[i + 1].is_alpha and (i == 0 or doc[i - 1].whitespace_ or doc[i - 1].is_punct):
            doc[i + 1].is_sent_start = False
            if i > 0 and doc[i - 1].text in (".", "!", ";"):
                # "... not mechanical. ?mets": the mark opens the next sentence, not the last one's end.
                t.is_sent_start = True
    return doc


def _asks(text: str, marks: tuple[str, ...]) -> bool:
    """A question mark that ends a question, not one written onto a word ("?vertebral #")."""
    return bool(marks) and bool(_question_marks(marks).search(text))


@functools.lru_cache(maxsize=8)
def _question_marks(marks: tuple[str, ...]) -> re.Pattern:
    # Compiled once per policy: this runs for every finding of a long note.
    return re.compile("(?:" + "|".join(re.escape(m) for m in marks) + r")(?![\w#])")


CLAUSE_BREAKS_EXT = "safety_clause_breaks"
_LETTER_DIGIT = re.compile(r"[a-z]\d|\d[a-z]")


# "No" also as checklists in other languages write it (Polish/Czech nie/ne, German nein, Dutch nee,
# Scandinavian nej/nei, French non, Portuguese nao).
_SCREEN_ANSWER = re.compile(r":\s*(?:denies|denied|no|none|nil|negative|neg\.?|absent|not present|never|nie|ne|nein|nee|nej|nei|non|n[aã]o)\b[^\n:]{0,60}$",
                            re.IGNORECASE)


_LIST_ITEM = re.compile(r"^\s*(?:[-*\u2022\u25aa>]|\d{1,2}[.)])\s+")


def _denied_screen_line(text: str, start: int, end: int) -> bool:
    """The finding labels a screening list item answered in the negative as a whole ("- Bowel/
    bladder change (retention, incontinence, frequency): denies"): a list line whose label (no
    sentence end in it) holds the finding, and only a denial (and a short note) after its colon."""
    ls = text.rfind("\n", 0, start) + 1
    le = text.find("\n", end)
    line = text[ls:len(text) if le < 0 else le]
    colon = line.find(":", end - ls)
    label = line[:colon] if colon >= 0 else ""
    return (colon >= 0 and ":" not in line[:start - ls] and bool(_LIST_ITEM.match(label))
            and not re.search(r"[.!?]\s", label) and bool(_SCREEN_ANSWER.match(line[colon:])))


def _unchanged_table_row(text: str, pos: int) -> bool:
    """The finding labels a Markdown table row whose later cells (two or more) are all the same:
    a flowsheet over visits that shows no change."""
    ls, line = line_at(text, pos)
    line = line.strip()
    if not line.startswith("|"):
        return False
    cells = [c.strip().lower() for c in line.strip("|").split("|")]
    if len(cells) < 3 or pos - ls > len(line.split("|", 2)[0]) + len(cells[0]) + 2:
        return False  # not in the row's label cell
    values = [c for c in cells[1:] if c]
    return len(values) >= 2 and len(set(values)) == 1


def _split_differs(nlp, phrase: str) -> bool:
    """The tokenizer splits the phrase differently in capitals ("t2dm" -> "t2", "dm"; "T2DM")."""
    return [t.text.lower() for t in nlp.tokenizer(phrase)] != [t.text.lower() for t in nlp.tokenizer(phrase.upper())]


_DASHES = frozenset({"-", "\u2013", "\u2014", "--"})
if not Doc.has_extension(CLAUSE_BREAKS_EXT):
    Doc.set_extension(CLAUSE_BREAKS_EXT, default=())


@Language.factory(
    "safety_clause_breaks",
    default_config={"markers": [], "list_words": [], "new_clause_starts": [], "window": 8, "part_ends": []},
)
class ClauseBreaks:
    """Finds the commas after which a new, positively stated finding begins.

    For each comma, the words after it up to the next comma or the end of the sentence (at most
    ``window``) are read. The comma is a break when they contain a finding or opioid mention and
    a marker (onset or time words, or a verb: "since", "today", "new", "has", "with"...), and the
    comma is not inside a list of
    negated items: no list word ("or", "nor") in those words, nor in a later part of the same
    comma list before a part that starts a new clause ("no ...", "denies ..."). The result is
    ``doc._.safety_clause_breaks`` (token indices of the commas).
    """

    def __init__(self, nlp, name, markers, list_words, new_clause_starts, window, part_ends):
        self.window = window
        self.part_ends = frozenset(w.lower() for w in part_ends)
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for label, phrases in (("MARKER", markers), ("LIST", list_words), ("NEW", new_clause_starts)):
            if phrases:
                self.matcher.add(label, list(nlp.tokenizer.pipe(list(dict.fromkeys(phrases)))))
        self.strings = nlp.vocab.strings

    def __call__(self, doc: Doc) -> Doc:
        if not any(t.text == "," for t in doc):
            return doc
        found: dict[str, list[tuple[int, int]]] = {"MARKER": [], "LIST": [], "NEW": []}
        for mid, s, e in self.matcher(doc):
            found[self.strings[mid]].append((s, e))
        new_starts = {s for s, _ in found["NEW"]}
        mention_starts = sorted([e.start for e in doc.ents if e.label_ not in (NOT_FINDING, NOT_OPIOID)]
                                + [t.start for t in (doc.spans[TARGETS_KEY] if TARGETS_KEY in doc.spans else ())]
                                + [t.start for t in (doc.spans[DERIVED_KEY] if DERIVED_KEY in doc.spans else ())])
        if not mention_starts:
            return doc
        breaks: list[int] = []
        for sent in doc.sents:
            commas = [t.i for t in sent if t.text == ","]
            # comma-separated parts of the sentence after each comma: [start, end)
            parts = [(c + 1, commas[k + 1] if k + 1 < len(commas) else sent.end)
                     for k, c in enumerate(commas)]
            if self.part_ends:  # "..., and hypertension who presents with": "who" is about the patient
                parts = [(s, next((t.i for t in doc[s:e] if t.lower_ in self.part_ends), e)) for s, e in parts]
            for k, c in enumerate(commas):
                s, e = parts[k]
                e_marker = min(e, s + self.window)
                if not any(s <= m < e for m in mention_starts):
                    continue  # nothing found after the comma: leave the scope alone
                if not any(s <= ms and me <= e_marker for ms, me in found["MARKER"]):
                    continue
                if self._has(found["LIST"], s, e):
                    continue
                listed = False
                for s2, e2 in parts[k + 1:]:
                    first = next((t.i for t in doc[s2:e2] if not t.is_space), e2)
                    if first in new_starts:
                        break
                    if self._has(found["LIST"], s2, e2):
                        listed = True
                        break
                if not listed:
                    breaks.append(c)
        doc._.set(CLAUSE_BREAKS_EXT, tuple(breaks))
        return doc

    @staticmethod
    def _has(spans, s: int, e: int) -> bool:
        return any(s <= a and b <= e for a, b in spans)


@Language.factory(
    "safety_negex",
    default_config={"neg_termset": {}, "ent_types": None, "extension_name": "negex",
                    "chunk_prefix": None, "span_keys": None, "clause_breaks": False, "scope": [],
                    "scope_breaks": []},
)
class ClauseNegex(Negex):
    """negspacy's NegEx with four additions, everything else being negspacy's own code:

    - the clause-break commas (``safety_clause_breaks``) are termination points when
      ``clause_breaks`` is set;
    - a termination phrase inside a trigger phrase does not cut the trigger's own reach ("has"
      in "has not had", "have" in "does not have any", "has" in "if she has");
    - a trigger that overlaps the mention is part of its wording and does not apply to it ("has
      no" in "has no feeling in her bottom");
    - ``scope`` limits how far a trigger reaches: the most words between it and the finding
      ("previous" qualifies the words right after it, not the rest of the sentence), and such a
      trigger does not reach past a ``scope_breaks`` word ("old fracture and retention").
    """

    def __init__(self, nlp, name, neg_termset, ent_types, extension_name, chunk_prefix, span_keys,
                 clause_breaks, scope, scope_breaks):
        super().__init__(nlp, name, neg_termset, ent_types, extension_name, chunk_prefix, span_keys)
        self.clause_breaks = bool(clause_breaks)
        self._termination_id = nlp.vocab.strings.add("Termination")
        self.scope = {(d, tuple(t.lower_ for t in nlp.tokenizer(p))): int(n) for d, p, n in scope}
        self.scope_breaks = frozenset(w.lower() for w in scope_breaks)

    def process_negations(self, doc: Doc):
        preceding, following, terminating = super().process_negations(doc)
        if self.clause_breaks:
            have = {t[1] for t in terminating}
            terminating = terminating + [(self._termination_id, i, i + 1)
                                         for i in doc._.get(CLAUSE_BREAKS_EXT) if i not in have]
        triggers = preceding + following
        if triggers and terminating:
            terminating = [t for t in terminating
                           if not any(s <= t[1] and t[2] <= e and (s, e) != (t[1], t[2]) for _, s, e in triggers)]
        return preceding, following, terminating

    def _reach(self, direction: str, doc: Doc, t) -> int | None:
        n = self.scope.get((direction, tuple(tok.lower_ for tok in doc[t[1]:t[2]])))
        return self.scope.get((direction, ("*",))) if n is None else n

    @staticmethod
    def _before_comma(doc: Doc, i: int) -> int:
        """A comma right before a trailing trigger is its own ("fever, resolved")."""
        return i - 1 if i > 0 and doc[i - 1].text == "," else i

    def _broken(self, doc: Doc, start: int, end: int) -> bool:
        return any(tok.lower_ in self.scope_breaks for tok in doc[start:end])

    def _apply_negation(self, span, sub_preceding, sub_following) -> None:
        # A trigger that runs into the mention is part of its wording ("has no feeling in her
        # bottom": the finding is "no feeling in her bottom"), not a statement about it.
        sub_preceding = [t for t in sub_preceding if t[2] <= span.start]
        sub_following = [t for t in sub_following if t[1] >= span.end]
        if self.scope:
            doc = span.doc
            sub_preceding = [t for t in sub_preceding
                             if (n := self._reach("preceding", doc, t)) is None
                             or (span.start - t[2] <= n and not self._broken(doc, t[2], span.start))]
            sub_following = [t for t in sub_following
                             if (n := self._reach("following", doc, t)) is None
                             or (t[1] - span.end <= n and not self._broken(doc, span.end, self._before_comma(doc, t[1])))]
        super()._apply_negation(span, sub_preceding, sub_following)


# --- building -----------------------------------------------------------------------------------

class SafetyNLP:
    """The built pipeline plus matchers for words that need no context (anchors, pressure...)."""

    def __init__(self, policy: Policy):
        self.policy = policy
        nlp = spacy.blank("en")
        # "?discitis/?epidural collection": a slash before a query mark separates two words.
        infixes = list(nlp.Defaults.infixes) + [r"(?<=[A-Za-z])/(?=\?)"]
        nlp.tokenizer.infix_finditer = spacy.util.compile_infix_regex(infixes).finditer
        # "fever above 38C. I have none": a full stop after a number with its unit ends the
        # sentence (spaCy keeps "38C." whole, as it keeps "U.S.").
        suffixes = list(nlp.Defaults.suffixes) + [r"(?<=[0-9][A-Z])\.", r"(?<=[0-9][A-Z][A-Z])\."]
        nlp.tokenizer.suffix_search = spacy.util.compile_suffix_regex(suffixes).search
        # "~60 km/h", "~T8": an approximate sign is a word of its own.
        prefixes = list(nlp.Defaults.prefixes) + [r"~"]
        nlp.tokenizer.prefix_search = spacy.util.compile_prefix_regex(prefixes).search
        sp = policy.spelling
        lexicon = sorted(all_phrase_words(policy))
        self.speller: SpellingNormalizer = nlp.add_pipe("safety_spelling", config={
            "variants": dict(sp.variants), "lexicon": lexicon, "min_length": sp.fuzzy_min_length,
            "two_edits_from": sp.fuzzy_two_edits_from, "exclude": sorted(sp.fuzzy_exclude),
            "known_word_zipf": sp.fuzzy_known_word_zipf,
            "classes": dict(policy.placeholders)})
        self.placeholders = dict(policy.placeholders)
        self.nlp = nlp
        # Findings win over everything; look-alikes ("fluid retention", "non-opioid") are longer
        # matches, so the entity ruler's longest-match rule lets them hide the shorter one.
        ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "NORM", "overwrite_ents": True})
        patterns: list[dict] = []
        seen: set[str] = set()

        def add(label: str, phrases) -> None:
            # The tokenizer splits lowercase letter-digit words ("t2dm" -> "t2", "dm") but not
            # capitalised ones ("T2DM"): such phrases are added in capitals as well.
            phrases = [v for p in phrases for v in ((p, p.upper()) if "{" not in p and _LETTER_DIGIT.search(p)
                                                    and _split_differs(nlp, p) else (p,))]
            for p in phrases:
                pat = self._pattern(p)
                for one in ([pat] if isinstance(pat, str) else pat):
                    if one not in seen:  # first (higher-priority) label keeps a phrase
                        seen.add(one)
                        patterns.append({"label": label, "pattern": one})

        for f in policy.findings:
            add(f.id, f.phrases)
        add(NOT_FINDING, policy.not_findings)
        add(OPIOID, policy.opioids.lexicon)
        add(NOT_OPIOID, policy.opioids.not_opioid)
        # Patterns are normalised by the components before the ruler: add them while only the
        # speller precedes it, then insert sentence splitting in front.
        ruler.add_patterns(patterns)
        nlp.add_pipe("safety_line_breaks", before="entity_ruler")
        nlp.add_pipe("sentencizer", before="entity_ruler",
                     config={"punct_chars": [".", "!", "?", ";", "…"]})
        nlp.add_pipe("safety_query_marks", after="sentencizer")
        cb = policy.clause_breaks
        nlp.add_pipe("safety_clause_breaks", after="entity_ruler", config={
            "markers": list(cb.markers), "list_words": list(cb.list_words),
            "new_clause_starts": list(cb.new_clause_starts), "window": cb.window,
            "part_ends": list(cb.part_ends)})

        entity_phrases = _phrase_ngrams([p for f in policy.findings for p in f.phrases]
                                        + list(policy.opioids.lexicon))
        for ctx in CONTEXT_NAMES:
            ts = policy.termset(ctx)
            # NegEx matches trigger words as written: a placeholder in a trigger is spelt out.
            termset = {k: literal_placeholders(v) for k, v in ts.as_negspacy().items()}
            if ctx not in ("current", "possible"):
                # A trigger word inside a finding's own wording ("no sensation in the saddle
                # area", "hasn't passed urine") must not act on the findings after it: NegEx's
                # pseudo-trigger list is the mechanism for exactly that. Not for `possible`:
                # "suspected cauda equina" is uncertain wherever the words occur.
                termset["pseudo_negations"] += _phrases_containing(
                    entity_phrases, ts.preceding_negations + ts.following_negations + ts.termination)
            nlp.add_pipe("safety_negex", name=f"ctx_{ctx}",
                         config={"neg_termset": termset, "extension_name": ext_name(ctx),
                                 "span_keys": [SPAN_KEY], "clause_breaks": ctx in cb.contexts,
                                 "scope": [[d, lit, n] for d, ph, n in ts.scope for lit in literal_placeholders([ph])],
                                 "scope_breaks": list(ts.scope_breaks)})

        # Context-free matchers, on NORM so they share the spelling tolerance.
        self.aux_phrase = PhraseMatcher(nlp.vocab, attr="NORM")
        for label, phrases in ((ANCHOR, policy.patient_anchors), (GENERAL_TURN, policy.general_turn_markers),
                               (PRESSURE, policy.pressure_phrases),
                               (REQUEST, policy.opioids.request_cues)):
            texts: list[str] = []
            for p in phrases:
                pat = self._pattern(p)
                texts.extend([pat] if isinstance(pat, str) else pat)
            if texts:
                self.aux_phrase.add(label, [self.normalised_doc(t) for t in dict.fromkeys(texts)])
        self.current_words = tuple(policy.termset("current").preceding_negations)
        # Any of them inside a finding's own words (one search instead of one per word).
        self.current_in = re.compile(
            r"(?= (" + "|".join(re.escape(w) for w in sorted(self.current_words, key=len, reverse=True)) + r") )"
        ) if self.current_words else None
        # Concept parts (concepts.py): one label per part, on NORM like the findings.
        self.concept_matcher = PhraseMatcher(nlp.vocab, attr="NORM")
        self.concept_fillers = frozenset(policy.concepts.fillers)
        for part, phrases in policy.concepts.parts:
            texts = []
            for p in phrases:
                pat = self._pattern(p)
                texts.extend([pat] if isinstance(pat, str) else pat)
            docs = {}
            for t in dict.fromkeys(texts):
                d = self._without_fillers(self.normalised_doc(t))[0]
                if len(d):
                    docs.setdefault(tuple(tok.norm_ for tok in d), d)
            self.concept_matcher.add(part, list(docs.values()))
        self.concept_breaks = frozenset(policy.concepts.breaks)
        self.concept_negations = frozenset(policy.concepts.inner_negations)

    def _without_fillers(self, doc: Doc) -> tuple[Doc, list[int] | None]:
        """``doc`` without its filler words, and the original index of each kept token (None
        when nothing was dropped)."""
        keep = [i for i, t in enumerate(doc) if t.lower_ not in self.concept_fillers]
        if len(keep) == len(doc):
            return doc, None
        out = Doc(doc.vocab, words=[doc[i].text for i in keep])
        for j, i in enumerate(keep):
            out[j].norm_ = doc[i].norm_
        return out, keep

    def concept_hits(self, doc: Doc) -> list[tuple[int, int, int]]:
        """Concept-part matches as (match id, start, end) in ``doc``'s token offsets."""
        small, keep = self._without_fillers(doc)
        found = self.concept_matcher(small)
        if keep is None:
            return list(found)
        return [(mid, keep[s], keep[e - 1] + 1) for mid, s, e in found]

    def normalised_doc(self, text: str) -> Doc:
        return self.speller(self.nlp.make_doc(text))

    def _pattern(self, phrase: str):
        """A phrase, or its expansions when it uses placeholders such as ``{num}``."""
        if "{" not in phrase:
            return phrase
        return placeholder_phrases(phrase, self.placeholders)


def _phrase_ngrams(phrases) -> list[tuple[str, frozenset[tuple[str, ...]]]]:
    out = []
    for p in phrases:
        if "{" in p:
            continue
        w = p.split()
        out.append((p, frozenset(tuple(w[i:j]) for i in range(len(w))
                                 for j in range(i + 1, min(len(w), i + 6) + 1))))
    return out


def _phrases_containing(ngrams, triggers) -> list[str]:
    """Phrases that contain a trigger as a run of whole words."""
    trig = {tuple(t.split()) for t in triggers if t.strip()}
    return [p for p, grams in ngrams if not grams.isdisjoint(trig)]


_cache: dict[str, SafetyNLP] = {}
_cache_lock = threading.Lock()


def get_nlp(policy: Policy) -> SafetyNLP:
    """The pipeline for this policy, built once per process."""
    snlp = _cache.get(policy.fingerprint)
    if snlp is None:
        with _cache_lock:
            snlp = _cache.get(policy.fingerprint)
            if snlp is None:
                snlp = SafetyNLP(policy)
                _cache[policy.fingerprint] = snlp
    return snlp


# --- analysis -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mention:
    """One finding or opioid mention with its context."""

    label: str
    """Finding id, or OPIOID."""
    text: str
    """As written."""
    turn_index: int
    contexts: frozenset[str]
    """Which of CONTEXTS apply (``general`` only when the policy's conditions hold)."""
    current: bool
    """Described as new, recent or changing."""
    sentence: str
    start: int = 0
    """Character offset in the turn."""
    detail: str = ""
    """For a graded finding: what was compared ("worsening weakness: MRC 4/5 → 2/5")."""


@dataclass(frozen=True)
class TurnAnalysis:
    turn_index: int
    mentions: tuple[Mention, ...]
    anchored: bool
    """The turn talks about a real patient."""
    pressure: tuple[str, ...]
    request_cues: tuple[str, ...]


_TURN_SEP = "\n\n"


def run_negex(comp: Negex, doc: Doc, spans: list) -> None:
    """Apply one negspacy NegEx component to ``spans``.

    Same triggers, pseudo-triggers, termination boundaries and decision as ``comp(doc)`` (the
    library's own methods), but each span is looked up in its boundary instead of every span
    being rebuilt for every boundary, which made the seven passes the slowest part of a check.
    """
    if not all(hasattr(comp, m) for m in ("process_negations", "termination_boundaries", "_apply_negation")):
        comp(doc)  # a negspacy without these methods: run it as a component (spans via span_keys)
        return
    preceding, following, terminating = comp.process_negations(doc)
    if terminating:
        # A termination word inside a mention ("pain which radiates", "has not passed urine")
        # does not split the mention away from its own context.
        inside = {i for sp in spans for i in range(sp.start + 1, sp.end)}
        terminating = [t for t in terminating if t[1] not in inside]
    boundaries = comp.termination_boundaries(doc, terminating)
    starts = [b[0] for b in boundaries]
    closes = _bracket_closes(doc)
    for span in spans:
        k = bisect.bisect_right(starts, span.start) - 1
        if k < 0:
            continue
        b0, b1 = boundaries[k]
        if not (b0 <= span.start < b1 and b0 < span.end <= b1):
            continue  # crosses a boundary: negspacy leaves such spans alone too
        # A trigger inside brackets reaches no further than their close ("(never weaned),
        # lifted a bag of shopping"); a bracket opened after it does not stop it.
        comp._apply_negation(span,
                             [t for t in preceding if b0 <= t[1] < b1
                              and not any(o < t[1] and t[2] <= c < span.start for o, c in closes)],
                             [t for t in following if b0 <= t[1] < b1])


def _bracket_closes(doc: Doc) -> list[tuple[int, int]]:
    """(token index of "(", token index of its ")") for every closed bracket of the doc."""
    out: list[tuple[int, int]] = []
    stack: list[int] = []
    for t in doc:
        if t.text == "(":
            stack.append(t.i)
        elif t.text == ")" and stack:
            out.append((stack.pop(), t.i))
    return out


def analyze(texts: list[tuple[int, str]], policy: Policy) -> list[TurnAnalysis]:
    """Run the pipeline over ``(turn_index, text)`` pairs.

    The turns are joined into one document (a blank line between them, which always starts a
    new sentence, so no context crosses a turn) because one document costs far less than many.
    """
    return _analyze(texts, policy, None)


def span_contexts(text: str, spans, policy: Policy) -> list[Mention]:
    """The context of given character spans of ``text``, one ``Mention`` (label ``TARGET``) per
    span, in the order given.

    The same pipeline, termsets and NegEx passes as ``analyze`` (which finds the spans itself
    from the policy's findings); used to measure the context engine on conditions that another
    annotator marked (``bench/context.py``). A span is widened to whole tokens.
    """
    spans = [(int(a), int(b)) for a, b in spans]
    for a, b in spans:
        if not 0 <= a < b <= len(text):
            raise InputError(f"span ({a}, {b}) is not inside the text (length {len(text)})")
    if not spans:
        return []
    (ta,) = _analyze([(0, text)], policy, [spans])
    return [m for m in ta.mentions if m.label == TARGET]  # targets come last, in order


def _analyze(texts: list[tuple[int, str]], policy: Policy,
             targets: list[list[tuple[int, int]]] | None) -> list[TurnAnalysis]:
    if not texts:
        return []
    snlp = get_nlp(policy)
    marks = policy.general_question_marks
    bounds: list[tuple[int, int, int]] = []  # (start_char, end_char, turn_index)
    parts, pos = [], 0
    for turn_index, text in texts:
        parts.append(text)
        bounds.append((pos, pos + len(text), turn_index))
        pos += len(text) + len(_TURN_SEP)
    text = _TURN_SEP.join(parts)
    ctx_pipes = [f"ctx_{c}" for c in CONTEXT_NAMES]
    doc = snlp.nlp.make_doc(text)
    target_spans: list[Span] = []
    for (start, _, _), turn_targets in zip(bounds, targets or ()):
        for a, b in turn_targets:
            span = doc.char_span(start + a, start + b, label=TARGET, alignment_mode="expand")
            if span is None:  # pragma: no cover - "expand" always finds the covering tokens
                raise InputError(f"span ({a}, {b}) could not be aligned to tokens")
            target_spans.append(span)
    if target_spans:
        doc.spans[TARGETS_KEY] = target_spans  # read by safety_clause_breaks
    details: dict[tuple[int, int, str], str] = {}
    spans: list[Span] = []
    for name, proc in snlp.nlp.pipeline:
        if name in ctx_pipes:
            continue
        if name == "safety_clause_breaks":
            # Findings read from grades, measurements and concepts are known before the commas
            # are judged, like phrase findings: "..., and when I wipe it feels dead" is a new clause.
            sents = list(doc.sents)
            spans = [e for e in doc.ents if e.label_ not in (NOT_FINDING, NOT_OPIOID)]
            if policy.grade_changes:
                spans += _grade_spans(doc, sents, bounds, text, policy, details)
            if policy.measurements:
                spans += _measurement_spans(doc, bounds, text, policy, details)
            if policy.concepts.combinations:
                spans += _concept_spans(snlp, doc, sents, spans, details)
            ents = set(doc.ents)  # doc.ents builds a new tuple on every access
            doc.spans[DERIVED_KEY] = [sp for sp in spans if sp not in ents]
        doc = proc(doc)
    spans += target_spans
    doc.spans[SPAN_KEY] = spans
    for name in ctx_pipes if spans else ():  # context only matters for something found
        # "general" only counts in a question: without a question mark its pass is moot.
        if name == "ctx_general" and not any(m in text for m in marks):
            continue
        run_negex(snlp.nlp.get_pipe(name), doc, spans)

    def turn_of(char: int) -> int:
        for k, (s, e, _) in enumerate(bounds):
            if s <= char <= e:
                return k
        return len(bounds) - 1

    # Span.sent walks the document each time: look sentences up once.
    sent_starts = [sp.start for sp in sents]
    aux_by_turn: list[list[tuple[str, str]]] = [[] for _ in bounds]
    anchored_sents: set[int] = set()  # sentences that speak of a real patient
    for mid, s, e in snlp.aux_phrase(doc):
        span = doc[s:e]
        label = snlp.nlp.vocab.strings[mid]
        aux_by_turn[turn_of(span.start_char)].append((label, span.text))
        if label == ANCHOR:
            anchored_sents.add(bisect.bisect_right(sent_starts, s) - 1)
    general_turn = [any(lbl == GENERAL_TURN for lbl, _ in aux) for aux in aux_by_turn]
    anchored = [any(lbl == ANCHOR for lbl, _ in aux) and not general_turn[k] for k, aux in enumerate(aux_by_turn)]
    mentions_by_turn: list[list[Mention]] = [[] for _ in bounds]
    says_baseline = [_says_baseline(text[b[0]:b[1]], policy) for b in bounds]
    asks = [any(m in text[b[0]:b[1]] for m in marks) for b in bounds]
    refers = _generic_referents(doc, sent_starts, policy)
    turn_texts = [text[b[0]:b[1]] for b in bounds]  # sliced once: a pasted note may be 20,000 characters
    for ent in doc.spans[SPAN_KEY]:
        sent_i = bisect.bisect_right(sent_starts, ent.start) - 1
        if refers and _refers_elsewhere(ent, refers.get(sent_i), policy):
            continue
        k = turn_of(ent.start_char)
        ctx = {c for c in CONTEXTS if ent._.get(ext_name(c))}
        sent = sents[sent_i].text
        # A general question ("Is CES hereditary?") stays general unless its own sentence speaks of
        # a real patient ("she has numbness - is that CES?") in a turn not marked as general.
        if "general" in ctx and ((sent_i in anchored_sents and not general_turn[k]) or not _asks(sent, marks)):
            ctx.discard("general")
        if "possible" in ctx:
            ctx.discard("negated")  # only a definite negation removes a finding
        before = text[sents[sent_i].start_char:ent.start_char]
        if "family" in ctx and relative_is_patient(sent, turn_texts[k], policy.relative_as_patient, before):
            ctx.discard("family")  # a carer writing about the patient: "Mum is 73 ... she lifted"
        elif "family" not in ctx and relative_pronoun_before(before, turn_texts[k], policy.relative_as_patient) \
                and not relative_is_patient(sent, turn_texts[k], policy.relative_as_patient):
            ctx.add("family")  # "my neighbour aunty ... at the end she could not walk. Now my back ..."
        low = " " + ent.text.lower() + " "
        # A change word inside the finding's own words, unless denied there ("numb, nothing new").
        current = bool(ent._.get(ext_name("current"))) or (snlp.current_in is not None and any(
            not re.search(rf"\b(?:nothing|no|not) {re.escape(m.group(1))} ", low) for m in snlp.current_in.finditer(low)))
        if policy.dated_episode and policy.dated_episode.search(text[sents[sent_i].start_char:ent.start_char]):
            ctx.add("historical")
            current = False  # "in May 2019, when she had acute retention": acute then, not now
        if "historical" in ctx and _recent_change(details.get((ent.start, ent.end, ent.label_), ""), sent):
            ctx.discard("historical")  # "last month I was 5 ft 2 when I've always been 5 ft 4": a loss measured lately
        if "historical" in ctx and _earlier_value_follows(text, ent, details, sents[sent_i].start_char):
            ctx.discard("historical")  # "PSA 86 ng/mL (4.1 in 2019)": the date is the earlier value's
        if _denied_screen_line(text, ent.start_char, ent.end_char):
            ctx.add("negated")  # "- Bowel/bladder change (retention, incontinence): denies"
            ctx.discard("possible")
        if quoted_from_document(text, ent.start_char, ent.end_char):
            ctx.add("hypothetical")  # a leaflet's or template's words, quoted
            ctx.discard("possible")
        box = checkbox_answer(text, ent.start_char, ent.end_char)
        if box == "no" or box == "blank":
            ctx.add("negated")  # "Saddle numbness: [ ] Y  [x] N"; a row nobody ticked asserts nothing
            ctx.discard("possible")
        elif box == "yes":
            ctx.difference_update(("negated", "hypothetical", "general"))  # "Fever: [x] Y  [ ] N"
        if general_turn[k] and sent_i not in anchored_sents and asks[k]:
            ctx.add("general")  # "Nursing student here ... what distinguishes them?": no patient
        if _unchanged_table_row(text, ent.start_char):
            ctx.add("stable")  # "| Sensory level | T10 | T10 | T10 |": the same at every visit
            current = False
        if not current and ent.label_ in policy.baseline_statement.findings and says_baseline[k]:
            ctx.add("stable")  # "R foot drop ... No new neurology": the deficit is her baseline
        mentions_by_turn[k].append(Mention(ent.label_, ent.text, bounds[k][2], frozenset(ctx), current,
                                           sent.strip(), ent.start_char - bounds[k][0],
                                           details.get((ent.start, ent.end, ent.label_), "")))
    out = []
    for k, (_, _, turn_index) in enumerate(bounds):
        aux = aux_by_turn[k]
        out.append(TurnAnalysis(
            turn_index=turn_index,
            mentions=tuple(mentions_by_turn[k]),
            anchored=anchored[k],
            pressure=tuple(dict.fromkeys(t for lbl, t in aux if lbl == PRESSURE)),
            request_cues=tuple(dict.fromkeys(t for lbl, t in aux if lbl == REQUEST)),
        ))
    return out


def _says_baseline(turn: str, policy: Policy) -> bool:
    """The turn states that the neurology is unchanged ("No new neurology", "neuro stable")."""
    rx = policy.baseline_statement.pattern
    return rx is not None and rx.search(turn) is not None


def _generic_referents(doc: Doc, sent_starts: list[int], policy: Policy) -> dict[int, list[str]]:
    """Sentence index -> lower-case texts of the not-findings in it that a generic word may mean."""
    if not policy.generic_mentions:
        return {}
    specifics = set().union(*(g.specifics for g in policy.generic_mentions))
    out: dict[int, list[str]] = {}
    for e in doc.ents:
        if e.label_ == NOT_FINDING:
            low = " ".join(e.text.lower().split())
            if low in specifics:
                out.setdefault(bisect.bisect_right(sent_starts, e.start) - 1, []).append(low)
    return out


def _refers_elsewhere(ent: Span, named: list[str] | None, policy: Policy) -> bool:
    """A generic word ("cancer") in a sentence that names a not-finding it may mean ("a BCC");
    ``named``: the not-findings of its sentence (``_generic_referents``)."""
    if not named:
        return False
    word = " ".join(ent.text.lower().strip("'\"‘’“”").split())
    return any(ent.label_ == g.finding and word in g.words and any(n in g.specifics for n in named)
               for g in policy.generic_mentions)


def _grade_spans(doc: Doc, sents, bounds, text: str, policy: Policy,
                 details: dict[tuple[int, int, str], str]) -> list[Span]:
    """Spans of the document where a graded finding falls (``grades.declines``), per turn."""
    out: list[Span] = []
    for start, end, _ in bounds:
        turn = text[start:end]
        if "/" not in turn and "|" not in turn and "out of" not in turn.lower():  # "|": a chart's bare grades
            continue
        ranges = [(max(sp.start_char, start) - start, min(sp.end_char, end) - start)
                  for sp in sents if sp.end_char > start and sp.start_char < end]
        for gc in policy.grade_changes:
            for d in declines(turn, ranges, gc):
                span = doc.char_span(start + d.start, start + d.end, label=d.finding,
                                     alignment_mode="expand")
                if span is None:
                    continue
                key = (span.start, span.end, span.label_)
                if key not in details:
                    details[key] = d.detail
                    out.append(span)
    return out


def _concept_spans(snlp: SafetyNLP, doc: Doc, sents, found: list[Span],
                   details: dict[tuple[int, int, str], str]) -> list[Span]:
    """Spans where the parts of a concept combination occur together (``concepts.combine``)."""
    hits = [PartHit(snlp.nlp.vocab.strings[mid], s, e) for mid, s, e in snlp.concept_hits(doc)]
    # A part inside a not-finding ("his weaker right leg") is not a part of anything.
    nots = [(e.start, e.end) for e in doc.ents if e.label_ == NOT_FINDING]
    if nots:
        hits = [h for h in hits if not any(a < h.end and h.start < b for a, b in nots)]
    if not hits:
        return []
    # A dash set off by spaces separates clauses ("make my MS worse - last time I got hot my
    # legs went heavy"); a hyphen inside a word ("new-onset") does not.
    blocked = [t.lower_ in snlp.concept_breaks or t.norm_ in snlp.concept_negations
               or t.lower_ in snlp.concept_negations
               or (t.text in _DASHES and bool(t.whitespace_) and t.i > 0 and bool(doc[t.i - 1].whitespace_))
               for t in doc]
    have = {(sp.start, sp.end, sp.label_) for sp in found}
    covered: dict[str, list[tuple[int, int]]] = {}
    for sp in found:
        covered.setdefault(sp.label_, []).append((sp.start, sp.end))
    out: list[Span] = []
    bounds = [(sp.start, sp.end) for sp in sents]
    for finding, s, e in combine(hits, snlp.policy.concepts.combinations, bounds, blocked):
        # A phrase already found for the same finding there says it better.
        if any(a < e and s < b for a, b in covered.get(finding, ())) or (s, e, finding) in have:
            continue
        span = Span(doc, s, e, label=finding)
        have.add((s, e, finding))
        covered.setdefault(finding, []).append((s, e))
        details[(s, e, finding)] = "concept|parts of the finding said together in one clause"
        out.append(span)
    return out


# A bracket right after a value holding another value of the same test, dated ("(4.1 in 2019)",
# "(was 5.2 last year)").
_EARLIER_VALUE = re.compile(r"\s*(?:ng/ml|mmol/l|u/l|mg/l|mm/h|mm/hr|g/l|g/dl|iu/l|%)?\s*\(\s*(?:was|prev\.?|previously|"
                            r"baseline|from)?\s*-?\d[^()\n]{0,40}\)", re.I)


# A clause right after a value giving the same test's earlier value ("158 cm, last year it was
# 163 cm").
_EARLIER_CLAUSE = re.compile(r"\s*[,;]\s*[a-z ]{0,30}?\b(?:it|she|he|they|this)?\s*(?:was|were|had been)\s+-?\d", re.I)


def _recent_change(detail: str, sentence: str) -> bool:
    """A change between two measured values (height or weight lost) whose sentence dates nothing
    years back: the dates in it are the comparison's, so the loss is current."""
    return (detail.startswith("measurement|") and "->" in detail
            and not re.search(r"(?:19|20)\d\d|\byears?\s+ago\b|\byrs?\s+ago\b", sentence, re.I))


def _earlier_value_follows(text: str, ent: Span, details: dict, sent_start: int) -> bool:
    """A measured value whose only date is the earlier value's in the bracket after it."""
    if not details.get((ent.start, ent.end, ent.label_), "").startswith("measurement|"):
        return False
    m = _EARLIER_VALUE.match(text, ent.end_char) or _EARLIER_CLAUSE.match(text, ent.end_char)
    if not m or not re.search(r"(?:19|20)\d\d|\bago\b|\blast\b|\bprevious", m.group(0), re.I):
        return False
    # Nothing dating the value itself before it in its sentence.
    return not re.search(r"(?:19|20)\d\d|\bago\b|\bhistory\b|\bpreviously\b", text[sent_start:ent.start_char], re.I)


def _measurement_spans(doc: Doc, bounds, text: str, policy: Policy,
                       details: dict[tuple[int, int, str], str]) -> list[Span]:
    """Spans where a measurement reaches its threshold (``measures.readings``), per turn."""
    out: list[Span] = []
    for start, end, _ in bounds:
        turn = text[start:end]
        if not any(ch.isdigit() for ch in turn):
            continue
        for r in readings(turn, policy.measurements):
            span = doc.char_span(start + r.start, start + r.end, label=r.finding, alignment_mode="expand")
            if span is None:
                continue
            key = (span.start, span.end, span.label_)
            if key not in details:
                details[key] = "measurement|" + r.detail
                out.append(span)
    return out


# Only the speller and the entity ruler decide which opioid names a text has: sentence and
# clause boundaries and the context components do not change the entities.
_OPIOID_ONLY_SKIPS = ("safety_line_breaks", "sentencizer", "safety_query_marks", "safety_clause_breaks") + tuple(
    f"ctx_{c}" for c in CONTEXT_NAMES)
# Texts asked about repeatedly (passage sentences, fixed policy wording) are answered from here.
OPIOID_CACHE_SIZE = 8192
_opioid_cache: dict[tuple[str, str], tuple[str, ...]] = {}
_opioid_cache_lock = threading.Lock()


def opioid_mentions(text: str, policy: Policy) -> list[str]:
    """Opioid names in ``text`` (any context), as written."""
    key = (policy.fingerprint, text)
    found = _opioid_cache.get(key)
    if found is None:
        snlp = get_nlp(policy)
        doc = snlp.nlp(text, disable=list(_OPIOID_ONLY_SKIPS))
        found = tuple(e.text for e in doc.ents if e.label_ == OPIOID)
        with _opioid_cache_lock:
            if len(_opioid_cache) >= OPIOID_CACHE_SIZE:
                _opioid_cache.clear()  # bounded; refilled by the texts still in use
            _opioid_cache[key] = found
    return list(found)


def phrase_spans(text: str, phrases: tuple[str, ...], policy: Policy, key: str) -> list[tuple[int, int]]:
    """Character spans of ``phrases`` in ``text`` (case-insensitive, token-aligned, cached)."""
    ckey = (policy.fingerprint, key, text)
    found = _phrase_span_cache.get(ckey)
    if found is None:
        found = tuple(_phrase_spans(text, phrases, policy, key))
        with _opioid_cache_lock:
            if len(_phrase_span_cache) >= OPIOID_CACHE_SIZE:
                _phrase_span_cache.clear()  # bounded; refilled by the texts still in use
            _phrase_span_cache[ckey] = found
    return list(found)


_phrase_span_cache: dict[tuple[str, str, str], tuple[tuple[int, int], ...]] = {}


def _phrase_spans(text: str, phrases: tuple[str, ...], policy: Policy, key: str) -> list[tuple[int, int]]:
    snlp = get_nlp(policy)
    matcher = _phrase_matchers.get((policy.fingerprint, key))
    if matcher is None:
        matcher = PhraseMatcher(snlp.nlp.vocab, attr="LOWER")
        matcher.add(key, list(snlp.nlp.tokenizer.pipe(phrases)))
        _phrase_matchers[(policy.fingerprint, key)] = matcher
    doc = snlp.nlp.make_doc(text)
    return sorted((doc[s:e].start_char, doc[s:e].end_char) for _, s, e in matcher(doc))


_phrase_matchers: dict[tuple[str, str], PhraseMatcher] = {}
