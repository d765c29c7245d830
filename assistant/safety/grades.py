"""Graded findings compared by number: a fall in a recorded grade ("MRC 4/5 last week, 2/5 today").

Deterministic and policy-driven (``grade_changes`` in policy.yaml). Within one user turn every
grade is read with the words around it:

- its own part of the sentence (cut at commas, semicolons, "and" and connectors between grades)
  says whether it is an *earlier* value ("was", "last week", "on admission") or a *later* one
  ("now", "today", "on review"); both or neither = unknown;
- two grades are compared when one is earlier and the other later (in any order, anywhere in the
  turn), or when a connector stands between them in one sentence ("4/5 -> 2/5", "then", "from
  5/5 to 3/5"), which orders them as written;
- grades on lines headed by different times of day ("08:30: power 5/5", "14:30: hip flexion
  3/5") are ordered by them;
- grades side by side without a time word or connector ("4/5 left, 5/5 right") are not compared;
- a fall is not counted when the sentences of the two grades name another scale (``not_about``:
  "pain 4/5 last week, 2/5 today") and no word of ``about`` ("power", "MRC", "dorsiflexion").

A later grade below the earlier one is a decline. The span quoted runs from the first of the two
grades to the second, exactly as written, so the escalation block can quote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from .measures import line_at
from .policy import GradeChange

_SPLIT = re.compile(r"[,;:]|\band\b", re.IGNORECASE)


@dataclass(frozen=True)
class Grade:
    start: int
    end: int
    text: str
    value: float
    baseline: bool = False
    """Not a grade but a statement that the examination was normal earlier."""
    new: bool = False
    """A baseline read from "new" before a grade in the same sentence."""
    cell: bool = False
    """A bare number in a chart of grades ("| 17/06 | 5 | 3 |" under "MRC")."""


@dataclass(frozen=True)
class Decline:
    """A later grade below an earlier one."""

    start: int
    end: int
    """Characters of the turn from the first of the two grades (as written) to the second."""
    earlier: Grade
    later: Grade
    finding: str
    detail: str
    """E.g. "worsening weakness: MRC 4/5 → 2/5"."""


def alternation(phrases) -> re.Pattern | None:
    """One case-insensitive pattern for the phrases, longest first, whole words, any spacing
    (None for none). Also used for the policy's investigation words (redflags)."""
    parts = []
    for p in sorted(set(phrases), key=len, reverse=True):
        rx = r"\s+".join(re.escape(w) for w in p.split())
        if p[:1].isalnum():
            rx = r"(?<![\w])" + rx
        if p[-1:].isalnum():
            rx += r"(?![\w])"
        parts.append(rx)
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


@dataclass(frozen=True)
class _Compiled:
    grade: re.Pattern
    earlier: re.Pattern | None
    later: re.Pattern | None
    connectors: re.Pattern | None
    last: re.Pattern | None
    not_last: re.Pattern | None
    about: re.Pattern | None
    not_about: re.Pattern | None
    timed_rows: re.Pattern | None
    baseline: re.Pattern | None
    new: re.Pattern | None
    unchanged: re.Pattern | None


@lru_cache(maxsize=16)
def _compiled(gc: GradeChange) -> _Compiled:
    def at_end(phrases):
        rx = alternation(phrases)
        return re.compile(r"(?:" + rx.pattern + r")\s*$", re.IGNORECASE) if rx else None

    return _Compiled(re.compile(gc.grade), alternation(gc.earlier), alternation(gc.later),
                     alternation(gc.connectors), at_end(gc.connectors_last), at_end(gc.not_connectors),
                     alternation(gc.about), alternation(gc.not_about),
                     re.compile(gc.timed_rows) if gc.timed_rows else None, alternation(gc.baseline_full),
                     alternation(gc.new_words), alternation(gc.unchanged))


def _value(m: re.Match) -> float:
    v = float(m.group("value"))
    mod = m.groupdict().get("mod") or ""
    return v + (0.3 if mod == "+" else -0.3 if mod == "-" else 0.0)


def _split(gap: str, c: _Compiled) -> tuple[str, str]:
    """Cut the text between two grades into the first grade's words and the second's."""
    cuts = [m.start() for m in _SPLIT.finditer(gap)]
    if c.connectors:
        cuts += [m.start() for m in c.connectors.finditer(gap)]
    if not cuts:
        return gap, gap  # "4/5 last week 2/5 today": no cut, the words count for both
    k = min(cuts)
    return gap[:k], gap[k:]


def _time(words: str, c: _Compiled) -> str | None:
    e = bool(c.earlier and c.earlier.search(words))
    late = bool(c.later and c.later.search(words))
    if e == late:
        return None
    return "earlier" if e else "later"


def _connected(gap: str, c: _Compiled) -> bool:
    if c.connectors and c.connectors.search(gap):
        return True
    return bool(c.last and c.last.search(gap) and not (c.not_last and c.not_last.search(gap)))


# A time of day heading an examination's line ("- 14:30 (F1): hip flexion 3/5", "0830 hrs").
_CLOCK = re.compile(r"(?<![\d:./])([01]?\d|2[0-3])[:h]([0-5]\d)(?![\d:./])|(?<![\d:./])([01]\d|2[0-3])([0-5]\d)\s?(?:hrs|h)\b", re.I)


def _clock(text: str, pos: int) -> int | None:
    """Minutes after midnight of the last time of day on the grade's line, before it."""
    start, line = line_at(text, pos)
    found = list(_CLOCK.finditer(line[:pos - start]))
    if not found:
        return None
    m = found[-1]
    h, mi = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    return int(h) * 60 + int(mi)


def _rows(text: str, grades: list[Grade], c: _Compiled,
          sentence: Callable[[int], tuple[int, int]] | None = None) -> list[tuple[int, int] | None]:
    """(line start, column) of each grade on a line whose label names a time ("| Tue 1400 | 2/5
    | 2/5 |", "Day 3: 3/5"), else None. The column is the table cell, or the grade's place on
    its line. A sentence that opens with such a label inside a longer line is a row of its own
    ("... managed conservatively. Mon: L EHL 4/5, DF 4+/5. Today: EHL 2/5, DF 3/5")."""
    out: list[tuple[int, int] | None] = []
    for g in grades:
        if c.timed_rows is None or g.baseline:
            out.append(None)
            continue
        ls, line = line_at(text, g.start)
        if g.cell:  # checked when the cell was read
            out.append((ls, line[:g.start - ls].count("|")))
            continue
        first = c.grade.search(line)
        if (first is None or not c.timed_rows.search(line[:first.start()])) and sentence is not None:
            s0, e0 = sentence(g.start)
            if s0 > ls:  # the sentence starts inside the line: it may be a labelled row
                ls, line = s0, text[s0:min(e0, ls + len(line))]
                first = c.grade.search(line)
        if first is None or not c.timed_rows.search(line[:first.start()]):
            out.append(None)
            continue
        before = line[:g.start - ls]
        out.append((ls, before.count("|") if "|" in line else len(c.grade.findall(before))))
    return out


# A bracket opened right before a grade, perhaps with "was" ("2/5 (was 4/5)").
_BRACKET_BEFORE = re.compile(r"\(\s*(?:was\s+|previously\s+)?$")
_CELL = re.compile(r"(?<=\|)\s*(?P<value>[0-5])\s?(?P<mod>[+-]?)\s*(?=\|)")


def _chart_cells(text: str, c: _Compiled) -> list[Grade]:
    """Bare grades in the cells of a chart whose rows are labelled by time ("| 17/06 | 5 | 3 |"),
    when the chart or the two lines before it say what is graded ("MRC", "power", "EHL"): charts
    leave out the "/5"."""
    if c.timed_rows is None or c.about is None or "|" not in text:
        return []
    lines = text.split("\n")
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln) + 1)
    out: list[Grade] = []
    k = 0
    while k < len(lines):
        if lines[k].count("|") < 2:
            k += 1
            continue
        end = k
        while end < len(lines) and lines[end].count("|") >= 2:
            end += 1
        if c.about.search("\n".join(lines[max(0, k - 2):end])):
            for r in range(k, end):
                line = lines[r]
                if c.grade.search(line):
                    continue  # grades written with "/5" are read as such
                cells = list(_CELL.finditer(line))
                if not cells or not c.timed_rows.search(line[:cells[0].start()]):
                    continue
                for m in cells:
                    text_ = m.group("value") + m.group("mod") + "/5"
                    out.append(Grade(offsets[r] + m.start("value"), offsets[r] + m.end(), text_, _value(m), cell=True))
        k = end
    return out


# Between a reduced and a full grade, words that make the full one another muscle or side
# ("EHL R 4+/5, otherwise 5/5"), not the same muscle earlier.
_OTHER_MUSCLES = re.compile(r"\b(?:otherwise|elsewhere|other|others|rest|remaining|remainder|all|left|right|L|R|"
                            r"bilat\w*|contralateral|opposite)\b", re.I)


def _join_parentheticals(text: str, sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A sentence cut inside brackets ("4-/5 (new vs pain-limited; documented 5/5 ...)") goes on
    to the bracket's end: what a bracket holds is said of the grade before it."""
    out: list[tuple[int, int]] = []
    for s, e in sentences:
        if out and text[out[-1][0]:out[-1][1]].count("(") > text[out[-1][0]:out[-1][1]].count(")"):
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def declines(text: str, sentences: list[tuple[int, int]], gc: GradeChange) -> list[Decline]:
    """Every fall in grade in one turn. ``sentences`` are (start, end) character ranges."""
    c = _compiled(gc)
    sentences = _join_parentheticals(text, sentences)
    # Shown as "4/5" however it was written ("4 out of 5").
    grades = [Grade(m.start(), m.end(), re.sub(r"\s+", "", re.sub(r"\s*out of\s*(?:5|five)", "/5", m.group(0), flags=re.I)),
                    _value(m))
              for m in c.grade.finditer(text)]
    grades += _chart_cells(text, c)

    def sentence_of(pos: int) -> int:
        for k, (s, e) in enumerate(sentences):
            if s <= pos < e:
                return k
        return len(sentences)

    if c.baseline and grades:
        # "All were normal at review in March": the same examination, full, earlier.
        # Only about the examination: its sentence names power or muscles, or "all" refers back
        # to the grades just listed ("U&E normal last month" is not a baseline).
        for m in c.baseline.finditer(text):
            k = sentence_of(m.start())
            s0, e0 = sentences[k] if k < len(sentences) else (0, len(text))
            if re.search(r"\ball\b", m.group(0), re.I) or (c.about and c.about.search(text[s0:e0])):
                grades.append(Grade(m.start(), m.end(), m.group(0), 5.0, baseline=True))
    if c.new and grades:
        # "NEW: L hip flexion 4-/5": full before, unless denied ("no new weakness").
        for m in c.new.finditer(text):
            if re.search(r"\b(?:no|not|nothing|without|nil)\s+$", text[max(0, m.start() - 12):m.start()], re.I):
                continue
            grades.append(Grade(m.start(), m.end(), m.group(0), 5.0, baseline=True, new=True))
    grades.sort(key=lambda g: g.start)
    if len(grades) < 2:
        return []

    sent = [sentence_of(g.start) for g in grades]
    times: list[str | None] = []
    by_sentence: list[bool] = []
    """The grade's time is its sentence's ("Mon: ... DF 5/5"), not its own words'."""
    for i, g in enumerate(grades):
        s, e = sentences[sent[i]] if sent[i] < len(sentences) else (0, len(text))
        if i > 0 and sent[i - 1] == sent[i]:
            left = _split(text[grades[i - 1].end:g.start], c)[1]
        else:  # from the last cut of the sentence before the grade
            before = text[s:g.start]
            cuts = [m.end() for m in _SPLIT.finditer(before)]
            left = before[max(cuts):] if cuts else before
        if i + 1 < len(grades) and sent[i + 1] == sent[i]:
            right = _split(text[g.end:grades[i + 1].start], c)[0]
        else:  # up to the first cut after the grade
            after = text[g.end:e]
            m = _SPLIT.search(after)
            right = after[:m.start()] if m else after
        t = _time(left + " " + right, c)
        if t is None and (i == 0 or sent[i - 1] != sent[i]):
            # The sentence's label before its colon dates the grades after it ("Examination at
            # week 3 (my documentation): L EHL 4/5").
            label = re.match(r"([^:\n]{1,60}):", text[s:g.start])
            if label:
                t = _time(label.group(1), c)
        by_sentence.append(False)
        if t is None and g.value >= 5 and not g.baseline:
            # A full grade in a sentence dated as a whole ("GP 4 days ago: 'power 5/5 throughout,
            # reflexes normal'"): the sentence's time, when it names only one.
            t = _time(text[s:e], c)
            by_sentence[-1] = t is not None
        times.append(t)

    clocks = [_clock(text, g.start) for g in grades]
    def sentence_at(pos: int) -> tuple[int, int]:
        k = sentence_of(pos)
        return sentences[k] if k < len(sentences) else (0, len(text))

    rows = _rows(text, grades, c, sentence_at)
    base = [g.baseline for g in grades]
    pairs: list[tuple[int, int]] = []  # (earlier index, later index)
    for i in range(len(grades)):
        for j in range(i + 1, len(grades)):
            if base[i] or base[j]:
                # A full examination said earlier, with a grade said now in a sentence of change.
                k = j if base[i] else i
                b = grades[i] if base[i] else grades[j]
                if b.new:
                    # Only the grades after it in its own sentence.
                    if not base[k] and sent[k] == sentence_of(b.start) and b.start < grades[k].start \
                            and times[k] != "earlier" and c.about and c.about.search(
                                text[b.start:grades[k].start]):
                        pairs.append((i, j) if base[i] else (j, i))
                    continue
                if not base[k] and times[k] != "earlier":
                    s0, e0 = sentences[sent[k]] if sent[k] < len(sentences) else (0, len(text))
                    if times[k] == "later" or (c.later and c.later.search(text[s0:e0])):
                        pairs.append((i, j) if base[i] else (j, i))
                continue
            ti, tj = times[i], times[j]
            ci, cj = clocks[i], clocks[j]
            if rows[i] and rows[j] and rows[i][0] != rows[j][0]:
                # Two rows of a dated record ("Mon: EHL 4/5, DF 5/5. Today: EHL 4/5, DF 5/5"):
                # a muscle is compared with itself, one column down, never with another muscle.
                if rows[i][1] == rows[j][1]:
                    pairs.append((i, j))
                continue
            if ci is not None and cj is not None and ci != cj and not (ti and tj and ti != tj):
                # "08:30: 5/5 ... 14:30: 3/5"; written later but half a day earlier on the clock
                # is the next day ("Triage 20:00: 4/5 bilat. 02:00: 3/5").
                pairs.append((i, j) if ci < cj or ci - cj > 12 * 60 else (j, i))
            elif ti and tj and ti != tj:
                pairs.append((i, j) if ti == "earlier" else (j, i))
            elif (j == next((k for k in range(i + 1, len(grades)) if not base[k]), -1)
                  and sent[i] == sent[j] and tj == "earlier" and not by_sentence[j]
                  and grades[j].value > grades[i].value
                  # "4-/5 bilaterally (5/5 in Jan)": a bracket opened right before the higher grade
                  # dates it, whatever time or side words describe the reduced one before it.
                  and ((bracketed := _BRACKET_BEFORE.search(text[grades[i].end:grades[j].start]))
                       or ti is None)
                  and (bracketed or not _OTHER_MUSCLES.search(text[grades[i].end:grades[j].start]))
                  and not (c.unchanged and c.unchanged.search(
                      text[grades[i].end:sentences[sent[j]][1] if sent[j] < len(sentences) else len(text)]))):
                # A reduced grade, then in its sentence the higher grade it was before ("EHL R 4-/5
                # (documented 5/5 at visit 3 wks ago)", "R DF 2/5 (was 4/5)").
                pairs.append((j, i))
            elif j == i + 1 and sent[i] == sent[j] and _connected(text[grades[i].end:grades[j].start], c):
                backwards = (ti == "later" and tj != "later") or (tj == "earlier" and ti != "earlier")
                pairs.append((j, i) if backwards else (i, j))
            elif rows[i] and rows[j] and rows[i][0] != rows[j][0] and rows[i][1] == rows[j][1]:
                pairs.append((i, j))  # a chart's rows, read down one column
            elif (ti == "earlier" and tj is None and grades[i].value >= 5 and sent[j] > sent[i]
                  and c.about and sent[j] < len(sentences)
                  and c.about.search(text[sentences[sent[j]][0]:grades[j].start])
                  and not (c.unchanged and c.unchanged.search(text[grades[j].end:sentences[sent[j]][1]]))):
                # Full power dated earlier, then power examined in a later sentence ("Power L: hip
                # flexion 3/5"): today's examination against the earlier one.
                pairs.append((i, j))
    out: list[Decline] = []
    seen: set[tuple[int, int]] = set()
    for a, b in pairs:
        ea, lb = grades[a], grades[b]
        if lb.value >= ea.value or (a, b) in seen:
            continue
        first, second = sorted((a, b))
        lo = sentences[sent[first]][0] if sent[first] < len(sentences) else 0
        hi = sentences[sent[second]][1] if sent[second] < len(sentences) else len(text)
        words = text[lo:hi]
        if c.not_about and c.not_about.search(words) and not (c.about and c.about.search(words)) \
                and not (ea.cell and lb.cell):  # a chart's cells were read under a header naming power
            continue  # another scale ("pain 4/5 last week, 2/5 today")
        seen.add((a, b))
        scale = f"{gc.scale} " if gc.scale else ""
        start, end = min(ea.start, lb.start), max(ea.end, lb.end)
        if clocks[a] is not None and clocks[b] is not None and "\n" in text[start:end]:
            # Lines of a timed record: quote the later line ("14:30 (F1): hip flexion R 3/5").
            line = text.rfind("\n", 0, lb.start) + 1
            start, end = line + _CLOCK.search(text[line:lb.start]).start(), lb.end
            if any(d.start == start for d in out):
                continue  # one quote per later line
        elif ea.cell and lb.cell:
            # Rows of a chart: quote the later row ("| 17/06 | 5 | 5 | 3 | 2").
            start = text.rfind("\n", 0, lb.start) + 1
            nl = text.find("\n", lb.start)
            end = len(text[:nl if nl >= 0 else len(text)].rstrip(" |"))
            if any(d.start == start for d in out):
                continue
        out.append(Decline(start, end, ea, lb, gc.finding,
                           f"{gc.label}: {scale}{ea.text} \u2192 {lb.text}"))
    return out
