"""Markdown pipe tables -> one passage per row, each cell prefixed by its column header.

A table's caption is the line right above it when it reads like one ("Table 4. ...",
a bold line, or a short line ending in ':'); its notes are the short footnote-like
paragraphs right after it. Both travel with every row: the caption in the section path,
the notes appended to the row's text (so "Do not combine TCAs and SNRIs" is found with
the drugs it is about).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .rules import rules

_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_ROW = re.compile(r"^\s*\|.*\|\s*$")
_CAPTION = re.compile(r"^\W{0,3}(?:table|exhibit|box|sidebar)\s+[A-Z0-9]{1,4}\b", re.I)
MAX_NOTE_CHARS = 600
"""A paragraph after a table longer than this is text, not a table note."""
MAX_CAPTION_CHARS = 200


@dataclass(frozen=True)
class Table:
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    row_spans: tuple[tuple[int, int], ...]
    """(start, end) offsets of each row's line in the text the table was found in."""
    notes: tuple[str, ...]
    start: int
    """Offset of the caption (or the header row) in the text."""
    end: int
    """Offset after the last note (or the last row)."""


def split_cells(line: str) -> list[str]:
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    cells = re.split(r"(?<!\\)\|", s)
    return [" ".join(c.replace("\\|", "|").split()) for c in cells]


def find_tables(text: str) -> list[Table]:
    """Every pipe table in ``text`` with its caption, rows and notes, in order."""
    if "|" not in text:
        return []
    lines = text.splitlines(keepends=True)
    offs = []
    pos = 0
    for ln in lines:
        offs.append(pos)
        pos += len(ln)
    offs.append(pos)
    tables: list[Table] = []
    i = 0
    while i < len(lines) - 1:
        if not (_ROW.match(lines[i]) and _SEP.match(lines[i + 1])):
            i += 1
            continue
        header = tuple(split_cells(lines[i]))
        j = i + 2
        rows, spans = [], []
        while j < len(lines) and _ROW.match(lines[j]):
            cells = split_cells(lines[j])
            cells = (cells + [""] * len(header))[: max(len(header), 1)]
            if any(cells):
                rows.append(tuple(cells))
                spans.append((offs[j], offs[j] + len(lines[j].rstrip("\n"))))
            j += 1
        start = offs[i]
        caption = ""
        k = i - 1
        while k >= 0 and not lines[k].strip() and i - k <= 2:
            k -= 1
        if k >= 0 and lines[k].strip() and not lines[k].lstrip().startswith(("#", "|")):
            cand = lines[k].strip()
            plain = cand.strip("*_ ")
            if len(cand) <= MAX_CAPTION_CHARS and (
                    _CAPTION.match(plain) or (cand.startswith(("**", "__")) and cand.endswith(("**", "__")))
                    or cand.endswith(":")):
                caption = plain.rstrip(":").strip()
                start = offs[k]
        notes: list[str] = []
        end = offs[j]
        k = j
        note_re = rules().table_note_start
        while k < len(lines) and len(notes) < 4:
            while k < len(lines) and not lines[k].strip():
                k += 1
            if k >= len(lines):
                break
            para_end = k
            while para_end < len(lines) and lines[para_end].strip() and not _ROW.match(lines[para_end]):
                para_end += 1
            para = " ".join(ln.strip() for ln in lines[k:para_end])
            if not para or len(para) > MAX_NOTE_CHARS or para.startswith("#") or not note_re.match(para):
                break
            notes.append(para)
            end = offs[para_end]
            k = para_end
        if rows:
            tables.append(Table(caption, header, tuple(rows), tuple(spans), tuple(notes), start, end))
        i = j
    return tables


def row_text(table: Table, row: tuple[str, ...]) -> str:
    """'Drug: Baclofen; Starting dose: 5 mg three times a day.' plus the table's notes."""
    parts = []
    for head, cell in zip(table.header, row):
        cell = cell.strip()
        if not cell or cell in ("-", "\u2013", "\u2014"):
            continue
        head = head.strip().strip("*_ ")
        parts.append(f"{head}: {cell}" if head and head != cell else cell)
    text = "; ".join(parts)
    if text and not text.endswith((".", "!", "?")):
        text += "."
    for note in table.notes:
        if re.match(r"(?i)\W*abbreviations?\b", note):
            continue  # an acronym list: not answer material
        note = re.sub(r"^(?:\\?\*+|[\u2020\u2021\u00a7\u00b6#^])\s*", "", note.strip())
        if not re.match(r"(?i)(?:notes?|abbreviations?|key|source|adapted)\b", note):
            note = "Note: " + note
        text += " " + (note if note.endswith((".", "!", "?")) else note + ".")
    return text


def strength_of_row(table: Table, row: tuple[str, ...]) -> str:
    cols = rules().strength_columns
    for head, cell in zip(table.header, row):
        if cell and any(p.match(head.strip("*_ ")) for p in cols):
            return cell
    return ""
