"""Statements that disagree across approved documents.

Two kinds, both tied to a drug named in ``conflicts.yaml``:

* **quantity**: the same drug and the same kind of number (maximum, starting dose, titration
  step, interval, duration, or a plain dose) with different values in two documents, e.g.
  "The maximum dose of tizanidine is 36 mg per day" vs "... up to 24 mg per day".
* **role**: the same drug as first-line in one document and second-line / not recommended in
  another (from the clause's own words, else from its section heading).

Runs after every ingest (the report, the admin page) and in ``guideline check``. The
extraction (``quantities``) is also what the answer-side check (``assistant.disagree``) uses,
so both read numbers the same way. Pure text work: no model, no index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

VOCAB_FILE = Path(__file__).with_name("conflicts.yaml")

_NUM = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
"""A number: 36, 0.5 or 3,600 (thousands separators)."""
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
_CLAUSE_SPLIT = re.compile(r";|,\s+(?:with|while|whereas|but)\s+|\s+whereas\s+")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


@dataclass(frozen=True)
class Vocab:
    drug_rx: re.Pattern
    """One alternation of every drug name and alias (one scan per clause)."""
    drug_names: dict
    """lower-case alias -> drug name."""
    drug_words: frozenset
    """First words of every alias: a clause without any of them names no drug (fast skip)."""
    quantity: re.Pattern
    units: dict
    per_day: re.Pattern
    kinds: tuple[tuple[str, frozenset, re.Pattern], ...]
    roles: tuple[tuple[str, re.Pattern], ...]
    heading_roles: tuple[tuple[str, re.Pattern], ...]
    contexts: tuple[tuple[str, re.Pattern], ...]
    contradicts: frozenset
    negations: frozenset
    conditions: frozenset


def _words(phrases: Iterable[str]) -> str:
    return "|".join(sorted((re.escape(p) for p in phrases), key=len, reverse=True))


@lru_cache(maxsize=None)
def vocab(path: str = str(VOCAB_FILE)) -> Vocab:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for d in data["drugs"]:
        for alias in [d["name"], *d.get("aliases", [])]:
            names[alias.lower()] = d["name"]
    drug_rx = re.compile(rf"(?<![\w-])(?:{_words(names)})(?![\w-])", re.I)
    units = {u.lower(): (v["dim"], float(v["factor"])) for u, v in data["units"].items()}
    quantity = re.compile(
        rf"(?<![\w.,]){_NUM}(?:\s*(?:to|-|–|or)\s*{_NUM})?\s*({_words(units)})(?![\w])", re.I)
    per_day = re.compile(rf"^\s*(?:{_words(data['per_day'])})", re.I)
    kinds = tuple((k["kind"], frozenset(k["dims"]), re.compile(rf"(?<![\w-])(?:{_words(k['cues'])})(?![\w-])", re.I))
                  for k in data["kinds"])
    roles = tuple((r, re.compile(rf"(?<![\w-])(?:{_words(cues)})(?![\w-])", re.I)) for r, cues in data["roles"].items())
    heading_roles = tuple((r, re.compile(rf"(?<![\w-])(?:{_words(cues)})(?![\w-])", re.I))
                          for r, cues in data["heading_roles"].items())
    contexts = tuple((c, re.compile(rf"(?<![\w-])(?:{_words(cues)})(?![\w-])", re.I))
                     for c, cues in data["contexts"].items())
    contradicts = frozenset(frozenset(pair) for pair in data["contradicts"])
    first_words = frozenset(re.findall(r"[\w-]+", a)[0] for a in names)
    return Vocab(drug_rx, names, first_words, quantity, units, per_day, kinds, roles, heading_roles, contexts, contradicts,
                 frozenset(w.lower() for w in data["role_negations"]),
                 frozenset(w.lower() for w in data["role_conditions"]))


@dataclass(frozen=True)
class Quantity:
    """One number tied to a drug in one sentence."""

    drug: str
    kind: str
    """'maximum', 'starting dose', ... or 'dose' (a mass without a cue)."""
    dim: str
    """'mass', 'mass/day' or 'time'."""
    value: tuple[float, ...]
    """Normalised to mg or hours; two numbers for a range."""
    text: str
    """The number as written, e.g. '36 mg per day'."""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.drug, self.kind, self.dim)


_WORD = re.compile(r"[\w-]+")


def _drugs_in(clause: str, v: Vocab) -> list[tuple[int, int, str]]:
    """(start, end, drug) of every drug named in the clause."""
    if v.drug_words.isdisjoint(_WORD.findall(clause.lower())):
        return []
    return [(m.start(), m.end(), v.drug_names[m.group(0).lower()]) for m in v.drug_rx.finditer(clause)]


def _clauses(sentence: str) -> list[tuple[int, str]]:
    out, start = [], 0
    for m in _CLAUSE_SPLIT.finditer(sentence):
        out.append((start, sentence[start:m.start()]))
        start = m.end()
    out.append((start, sentence[start:]))
    return out


def _nearest_drug(drugs: list[tuple[int, int, str]], pos: int) -> str | None:
    """The drug mentioned closest before ``pos``; else the closest after; None when two tie."""
    before = [d for d in drugs if d[1] <= pos]
    if before:
        return max(before, key=lambda d: d[1])[2]
    after = sorted(drugs, key=lambda d: d[0])
    return after[0][2] if after else None


def _kind(v: Vocab, dim: str, clause: str, found: list, qi: int) -> str | None:
    """What the qi-th number of the clause is: the cue nearest before it (after the previous
    number), else a cue right after it ("2 mg steps"); None when neither says."""
    m = found[qi]
    base = dim.split("/")[0]
    seg_start = found[qi - 1].end() if qi else 0
    head = clause[seg_start:m.start()]
    best: tuple[int, str] | None = None
    for name, dims, rx in v.kinds:
        if base not in dims:
            continue
        for c in rx.finditer(head):
            if best is None or c.end() > best[0]:
                best = (c.end(), name)
    if best:
        return best[1]
    seg_end = found[qi + 1].start() if qi + 1 < len(found) else len(clause)
    tail = clause[m.end():seg_end]
    tail = tail[:len(" ".join(tail.split()[:3])) + 2]
    after = [(c.start(), name) for name, dims, rx in v.kinds if base in dims for c in rx.finditer(tail)]
    return min(after)[1] if after else None


def quantities(sentence: str, v: Vocab | None = None) -> list[Quantity]:
    """Numbers with units tied to a drug in one sentence (clause by clause). A clause that
    names no drug continues the previous clause's only drug ("Ibuprofen is given at 400 mg
    three times daily, with a maximum of 1,200 mg per day")."""
    v = v or vocab()
    out: list[Quantity] = []
    carried: list[tuple[int, int, str]] = []
    for _, clause in _clauses(sentence):
        drugs = _drugs_in(clause, v)
        if not drugs:
            drugs = carried
        else:
            names = {d[2] for d in drugs}
            carried = [(0, 0, next(iter(names)))] if len(names) == 1 else []
        if not drugs:
            continue
        found = list(v.quantity.finditer(clause))
        for qi, m in enumerate(found):
            dim, factor = v.units[m.group(3).lower()]
            tail = clause[m.end():]
            text = m.group(0)
            pd = v.per_day.match(tail)
            if dim == "mass" and pd:
                dim, text = "mass/day", text + pd.group(0).rstrip()
            drug = _nearest_drug(drugs, m.start())
            if drug is None:
                continue
            kind = _kind(v, dim, clause, found, qi)
            if kind is None:
                if dim == "time":
                    continue  # a timing ("peak effect 1 to 2 hours after a dose"), not compared
                kind = "dose"
            nums = tuple(round(float(x.replace(",", "")) * factor, 6) for x in (m.group(1), m.group(2)) if x)
            out.append(Quantity(drug, kind, dim, nums, text.strip()))
    return out


def contexts(text: str, v: Vocab | None = None) -> frozenset:
    v = v or vocab()
    return frozenset(c for c, rx in v.contexts if rx.search(text))


_section_ctx: dict[tuple[int, str], frozenset] = {}


def _section_contexts(section: str, v: Vocab) -> frozenset:
    key = (id(v), section)
    got = _section_ctx.get(key)
    if got is None:
        if len(_section_ctx) > 4096:
            _section_ctx.clear()
        got = _section_ctx[key] = contexts(section, v)
    return got


def roles(sentence: str, heading_role: str | None, v: Vocab | None = None,
          section: str = "") -> list[tuple[str, str, frozenset]]:
    """(drug, role, conditions) a sentence states; a clause without its own cue takes the
    heading's role. Conditions come from the clause and the section's heading path."""
    v = v or vocab()
    out: list[tuple[str, str, frozenset]] = []
    for _, clause in _clauses(sentence):
        ctx = contexts(clause, v) | _section_contexts(section, v)
        drugs = [(a, name) for a, _, name in _drugs_in(clause, v)]
        if not drugs:
            continue
        cues: list[tuple[int, str]] = []
        blocked = False
        for role, rx in v.roles:
            for m in rx.finditer(clause):
                before = re.findall(r"[a-z]+", clause[:m.start()].lower())[-3:]
                if any(w in v.negations for w in before):
                    blocked = True
                    continue
                if any(w in v.conditions for w in before):
                    continue
                cues.append((m.start(), role))
        if not cues:
            if heading_role and not blocked:
                out.extend((name, heading_role, ctx) for _, name in drugs)
            continue
        for pos, name in drugs:
            role = min(cues, key=lambda c: abs(c[0] - pos))[1]
            out.append((name, role, ctx))
    return out


@dataclass(frozen=True)
class Statement:
    doc_id: str
    title: str
    path: str
    version: str
    status: str
    last_reviewed: str
    section: str
    sentence: str
    value: str
    """The number as written, or the role ('first_line', ...)."""

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Conflict:
    kind: str
    """'quantity' or 'role'."""
    subject: str
    """The drug."""
    aspect: str
    """For quantities the kind of number ('maximum', 'dose', ...); for roles 'role'."""
    statements: tuple[Statement, ...]

    def summary(self) -> str:
        parts = "; ".join(f"{s.value.replace('_', '-')} in {s.doc_id} ({s.section or 'top'})"
                          for s in self.statements)
        what = f"{self.aspect} of {self.subject}" if self.kind == "quantity" else f"place of {self.subject}"
        return f"{what} differs: {parts}"

    def to_json(self) -> dict:
        return {"kind": self.kind, "subject": self.subject, "aspect": self.aspect,
                "summary": self.summary(), "statements": [s.to_json() for s in self.statements]}


def _sentences(text: str) -> Iterable[tuple[str, str, str | None]]:
    """(heading path, sentence, the nearest heading's role cue) over a document body."""
    v = vocab()
    path: list[tuple[int, str]] = []
    para: list[str] = []

    def heading_role() -> str | None:
        for _, h in reversed(path):
            for role, rx in v.heading_roles:
                if rx.search(h):
                    return role
        return None

    def flush():
        if para:
            block = " ".join(para)
            para.clear()
            for s in _SENT_SPLIT.split(block):
                if s.strip():
                    yield " > ".join(h for _, h in path), s.strip(), heading_role()

    for line in text.splitlines():
        m = _HEADING.match(line)
        if m:
            yield from flush()
            level = len(m.group(1))
            path = [p for p in path if p[0] < level] + [(level, m.group(2).strip())]
            continue
        if not line.strip():
            yield from flush()
            continue
        if _LIST_MARK.match(line):
            yield from flush()
            line = _LIST_MARK.sub("", line)
        para.append(line.strip())
    yield from flush()


def find_conflicts(docs, statuses: Iterable[str] = ("approved",)) -> list[Conflict]:
    """Conflicts between the documents with one of ``statuses`` (``SourceDoc``s)."""
    statuses = set(statuses)
    v = vocab()
    qty: dict[tuple, dict[str, list[tuple[Quantity, Statement]]]] = {}
    rol: dict[str, dict[str, list[tuple[str, frozenset, Statement]]]] = {}
    for d in sorted(docs, key=lambda d: d.doc_id):
        if d.status not in statuses:
            continue
        for section, sent, hrole in _sentences(d.text):
            def stmt(value: str) -> Statement:
                return Statement(d.doc_id, d.title, d.path, d.version, d.status, d.last_reviewed,
                                 " > ".join(section.split(" > ")[1:]) or section, sent, value)

            for q in quantities(sent, v):
                qty.setdefault(q.key, {}).setdefault(d.doc_id, []).append((q, stmt(q.text)))
            for drug, role, ctx in roles(sent, hrole, v, section):
                rol.setdefault(drug, {}).setdefault(d.doc_id, []).append((role, ctx, stmt(role)))

    out: list[Conflict] = []
    for key, by_doc in sorted(qty.items()):
        vals = {did: {q.value for q, _ in items} for did, items in by_doc.items()}
        ids = sorted(vals)
        pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:] if not (vals[a] & vals[b])]
        if not pairs:
            continue
        involved = sorted({x for p in pairs for x in p})
        stmts = []
        for did in involved:
            seen = set()
            for q, s in by_doc[did]:
                if q.value not in seen:
                    seen.add(q.value)
                    stmts.append(s)
        out.append(Conflict("quantity", key[0], key[1], tuple(stmts)))
    for drug, by_doc in sorted(rol.items()):
        stmts: dict[tuple[str, str], Statement] = {}
        ids = sorted(by_doc)
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                for ra, ca, sa in by_doc[a]:
                    for rb, cb, sb in by_doc[b]:
                        if frozenset((ra, rb)) in v.contradicts and ((ca & cb) or not (ca or cb)):
                            stmts.setdefault((a, ra), sa)
                            stmts.setdefault((b, rb), sb)
        if stmts:
            out.append(Conflict("role", drug, "role", tuple(stmts[k] for k in sorted(stmts))))
    return out
