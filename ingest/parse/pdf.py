"""PDF -> Markdown with pdfplumber: words with their font size and position, not a text dump.

What published guideline PDFs need, and how it is done here:

* running headers, footers and page numbers: lines in the top or bottom margin whose text
  (digits ignored) repeats on many pages, and bare "Page 3 of 141" lines, are dropped;
* two-column pages: a vertical gutter near the middle that no word crosses splits the page,
  and the left column is read before the right;
* headings: numbering ("IX.", "A.", "a.", "2.1", "Appendix C") or a font larger than the body
  text; the title is the largest text on the first page;
* tables: pdfplumber's ruled-table finder; the words inside a table are taken out of the
  running text and the table is written as a Markdown pipe table under its caption;
* superscript citation numbers (smaller and raised) become ``[n]`` markers, superscript
  footnote letters are dropped; hyphenated line ends are joined (the hyphen is kept when
  the document spells the word with one elsewhere); ligatures (U+FB00-FB06) are normalised;
* "Recommendation" blocks ("18. For patients ... (Weak for | Reviewed)") become
  "Recommendation 18. ..." paragraphs under their own heading.

pdfplumber (MIT, on pdfminer.six) is imported inside ``parse_pdf`` so importing the
loader stays cheap.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

MARGIN = 0.085
"""Fraction of the page height at the top and bottom where running heads and feet live."""
REPEAT_FRACTION = 0.3
"""A margin line (digits ignored) on at least this share of pages (and 3) is a running head/foot."""
HEADING_SIZE_RATIO = 1.06
"""A line whose font is this much larger than the body text is a heading candidate."""
SUPERSCRIPT_RATIO = 0.8
"""A word this much smaller than its line's text, and raised, is a superscript."""
TABLE_SUPERSCRIPT_RATIO = 0.8
"""In a table, characters this much smaller than the table's own text are superscripts."""
GUTTER_MIN = 10.0
"""Points of empty vertical strip near the middle that make a page two columns."""
PARA_GAP = 0.65
"""A vertical gap larger than this many line heights starts a new paragraph."""

_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                            "\ufb05": "st", "\ufb06": "st", "\u00ad": "\u00ad", "\ufffe": "-",
                            "\u2010": "-", "\u2011": "-", "\u200b": "", "\u00a0": " "})
_PAGE_NO = re.compile(r"^(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)
_BULLET = re.compile(r"^[\u2022\u25cf\u25aa\u25a0\u2666\u27a2\u2013\u2014\u25e6\u2023\u2219\uf0b7\uf0a7o-]\s+")
_ROMAN = re.compile(r"^(?:[IVX]{1,6})\.\s+\S")
_UPPER = re.compile(r"^[A-Z]\.\s+\S")
_LOWER = re.compile(r"^[a-z]\.\s+\S")
_NUMERIC = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+[A-Z]")
_APPENDIX = re.compile(r"^(?:appendix\s+[A-Z0-9]+\b|references:?$|bibliography$|glossary$|abbreviations$)", re.I)
_CAPTION = re.compile(r"^(?:table|exhibit|sidebar|figure|box)\s+[A-Z0-9]{1,4}[.:]\s*\S", re.I)
_REC_LABEL = re.compile(r"^recommendations?:?$", re.I)
_REC_ITEM = re.compile(r"^(\d{1,3})\.\s+(\S.*)$")
_TOC_LINE = re.compile(r"(?:\.\s?){6,}\s*\d{1,4}\s*$")
_SENTENCE_END = re.compile(r"[.!?:;)\]\"\u201d]$")


@dataclass
class _Line:
    page: int
    top: float
    bottom: float
    x0: float
    text: str
    size: float
    bold: bool
    margin: bool = False
    col: int = 1
    """Reading-order group on its page: 0 top margin, 1 left (or only) column, 2 right, 3 bottom margin."""


@dataclass
class PdfText:
    markdown: str
    front_matter: str | None = None
    """A ``---`` block the text itself opens with (YAML text), when there is one."""
    pages: int = 0
    tables: int = 0
    dropped_lines: int = 0
    """Running headers, footers and page numbers removed."""
    headings: list[str] = field(default_factory=list)


PARSER_VERSION = "pdf-layout-6"
"""Bumped whenever parse_pdf's output changes for the same file: invalidates cached parses."""


def cached_parse_pdf(raw: bytes, cache_dir: Path | None) -> PdfText:
    """``parse_pdf``, remembered by content hash under ``cache_dir`` (an unchanged PDF is laid
    out once, not on every check and ingest). A cache that cannot be read or written is skipped."""
    if cache_dir is None:
        return parse_pdf(raw)
    key = hashlib.sha256(raw).hexdigest()
    path = Path(cache_dir) / f"{key}.{PARSER_VERSION}.json"
    try:
        return PdfText(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        pass
    parsed = parse_pdf(raw)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(parsed)), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
    return parsed


def parse_pdf(raw: bytes) -> PdfText:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(raw)) as pdf:
        lines: list[_Line] = []
        tables: dict[tuple[int, float], list[list[str]]] = {}  # (page, top) -> rows
        n_pages = len(pdf.pages)
        for pno, raw_page in enumerate(pdf.pages):
            _read_page(raw_page, pno, lines, tables)
            raw_page.close()  # drop the page's cached objects: memory stays flat over long PDFs
        lines.sort(key=lambda ln: (ln.page, ln.col, ln.top))
    return _assemble(lines, tables, n_pages)


def _read_page(page, pno: int, lines: list, tables: dict) -> None:
    """One page -> its text lines and tables (added to ``lines`` and ``tables``)."""
    page = page.filter(lambda o: o.get("object_type") != "char" or o.get("upright", True))
    chars = page.chars
    if not chars:
        return
    sizes = Counter(round(c["size"], 1) for c in chars)
    body = sizes.most_common(1)[0][0]
    try:
        found = [t for t in page.find_tables() if _table_ok(t)]
    except Exception:  # noqa: BLE001 - a table we cannot read is read as text instead
        found = []
    boxes = [t.bbox for t in found]
    for t in found:
        x0, top, x1, bottom = t.bbox
        inside = Counter(round(c["size"], 1) for c in chars
                         if x0 <= c["x0"] <= x1 and top <= c["top"] <= bottom)
        small = (inside.most_common(1)[0][0] if inside else body) * TABLE_SUPERSCRIPT_RATIO
        clean = page.filter(lambda o, small=small: o.get("object_type") != "char"
                            or o.get("size", small) >= small)
        try:
            rows = clean.crop(t.bbox).extract_tables()
        except Exception:  # noqa: BLE001
            rows = []
        rows = _clean_table(rows[0] if rows else [])
        if rows:
            tables[(pno, t.bbox[1])] = rows
    words = [_word(w) for w in page.extract_words(return_chars=True)
             if not any(_inside(w, b) for b in boxes)]
    page_lines, gutter = _page_lines(words, pno, float(page.width), float(page.height))
    lines.extend(page_lines)
    for t in found:
        if (pno, t.bbox[1]) in tables:
            col = 2 if gutter is not None and (t.bbox[0] + t.bbox[2]) / 2 >= gutter else 1
            lines.append(_Line(pno, t.bbox[1], t.bbox[3], t.bbox[0], f"\x00table:{pno}:{t.bbox[1]}",
                               0.0, False, False, col))


def _word(w: dict) -> dict:
    """A pdfplumber word (with its chars) -> text, size, font; a raised smaller tail
    ('Strength' + superscript 'a', 'practice' + superscript '12') split off as a marker."""
    chars = w.pop("chars")
    size = Counter(round(c["size"], 1) for c in chars).most_common(1)[0][0]
    normal = [c for c in chars if c["size"] >= size * SUPERSCRIPT_RATIO]
    w["size"] = size
    w["fontname"] = (normal or chars)[0]["fontname"]
    if normal and len(normal) < len(chars):
        tail = "".join(c["text"] for c in chars if c["size"] < size * SUPERSCRIPT_RATIO)
        text = "".join(c["text"] for c in normal)
        w["text"] = text + (f"[{tail.strip(',')}]" if re.fullmatch(r"[\d,\-\u2013]+", tail) else "")
    return w


def _table_ok(t) -> bool:
    x0, top, x1, bottom = t.bbox
    return (x1 - x0) > 100 and (bottom - top) > 30 and len(t.rows) >= 2


def _inside(w: dict, box) -> bool:
    x0, top, x1, bottom = box
    cx, cy = (w["x0"] + w["x1"]) / 2, (w["top"] + w["bottom"]) / 2
    return x0 - 1 <= cx <= x1 + 1 and top - 1 <= cy <= bottom + 1


def _page_lines(words: list[dict], pno: int, width: float, height: float) -> tuple[list[_Line], float | None]:
    """Words -> lines, each with its reading-order group, and the page's column gutter (if any)."""
    if not words:
        return [], None
    top_m, bot_m = height * MARGIN, height * (1 - MARGIN)
    body_words = [w for w in words if w["top"] > top_m and w["bottom"] < bot_m]
    gutter = _gutter(body_words, width)
    head = [w for w in words if w["top"] <= top_m]
    foot = [w for w in words if w["top"] > top_m and w["bottom"] >= bot_m]
    if gutter is None:
        groups = [(0, head), (1, body_words), (3, foot)]
    else:
        left = [w for w in body_words if (w["x0"] + w["x1"]) / 2 < gutter]
        right = [w for w in body_words if (w["x0"] + w["x1"]) / 2 >= gutter]
        groups = [(0, head), (1, left), (2, right), (3, foot)]
    out: list[_Line] = []
    for col, group in groups:
        for ln in _cluster(group):
            ln_words = sorted(ln, key=lambda w: w["x0"])
            sizes = [w["size"] for w in ln_words]
            main = statistics.median(sizes)
            base_top = statistics.median(w["top"] for w in ln_words)
            kept = []
            for w in ln_words:
                raised = w["size"] < main * SUPERSCRIPT_RATIO and w["top"] < base_top - 0.5
                if raised:
                    t = w["text"].strip()
                    if re.fullmatch(r"[\d,\-\u2013]+", t) and kept:
                        kept[-1] = dict(kept[-1], text=kept[-1]["text"] + f"[{t.strip(',')}]")
                    continue  # footnote letters (a, b, *) are dropped
                kept.append(w)
            if not kept:
                continue
            text = " ".join(w["text"] for w in kept).translate(_LIGATURES)
            size = statistics.median(w["size"] for w in kept)
            bold = all(re.search(r"bold|black|heavy|semibold", w["fontname"], re.I) for w in kept)
            top = min(w["top"] for w in kept)
            bottom = max(w["bottom"] for w in kept)
            margin = top < top_m or bottom > bot_m
            out.append(_Line(pno, top, bottom, min(w["x0"] for w in kept), text, size, bold, margin, col))
    return out, gutter


def _gutter(words: list[dict], width: float) -> float | None:
    """x of an empty vertical strip near the middle with text on both sides, else None."""
    if len(words) < 40:
        return None
    lo, hi = int(width * 0.3), int(width * 0.7)
    covered = bytearray(int(width) + 2)
    for w in words:
        for x in range(max(0, int(w["x0"])), min(int(width) + 1, int(w["x1"]) + 1)):
            covered[x] = 1
    best, run_start, best_mid = 0, None, None
    for x in range(lo, hi + 1):
        if not covered[x]:
            if run_start is None:
                run_start = x
            if x - run_start + 1 > best:
                best, best_mid = x - run_start + 1, (run_start + x) / 2
        else:
            run_start = None
    if best < GUTTER_MIN or best_mid is None:
        return None
    left = sum(1 for w in words if w["x1"] < best_mid)
    right = len(words) - left
    if min(left, right) < len(words) * 0.25:
        return None
    return best_mid


def _cluster(words: list[dict]) -> list[list[dict]]:
    lines: list[list[dict]] = []
    for w in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        if lines and abs(statistics.median(x["top"] for x in lines[-1][:3]) - w["top"]) <= 2.5:
            lines[-1].append(w)
        else:
            lines.append([w])
    return lines


def _clean_table(rows: list[list[str | None]]) -> list[list[str]]:
    """pdfplumber rows -> rectangular text rows: spanned cells merged, empty columns dropped,
    a second header line joined to the first, a spanned first column carried down."""
    rows = [[re.sub(r"\s+;", ";", re.sub(r"(\w)- (?=[a-z])", r"\1-",
                    " ".join(((c or "").translate(_LIGATURES)).replace("\u2022", ";").split()).strip("; ")))
             for c in r] for r in rows if r]
    rows = [r for r in rows if any(r)]
    if len(rows) < 2:
        return []
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    # Merge adjacent columns that are never both filled in one row (right to left: a spanned
    # cell's text sits in its leftmost column).
    groups: list[list[int]] = []
    for c in reversed(range(width)):
        if groups and not any(r[c] and any(r[g] for g in groups[-1]) for r in rows):
            groups[-1].insert(0, c)
        else:
            groups.append([c])
    groups.reverse()
    rows = [[" ".join(r[c] for c in g if r[c]) for g in groups] for r in rows]
    # A column filled only in the header carries nothing.
    keep = [i for i in range(len(rows[0])) if any(r[i] for r in rows[1:])]
    rows = [[r[i] for i in keep] for r in rows]
    if not rows or not rows[0] or len(rows[0]) < 2:
        return []
    # Header continuation: a second row filled only under filled header cells, sparsely.
    while len(rows) > 2:
        nxt = rows[1]
        filled = [i for i, x in enumerate(nxt) if x]
        if filled and all(rows[0][i] for i in filled) and len(filled) <= len(nxt) / 2:
            rows = [[(h + " " + x).strip() for h, x in zip(rows[0], nxt)]] + rows[2:]
        else:
            break
    for i in range(1, len(rows)):  # a first-column cell spanning several rows
        if not rows[i][0] and any(rows[i][1:]) and rows[i - 1][0]:
            rows[i][0] = rows[i - 1][0]
    if not any(rows[0]):
        return []
    return rows


def _heading_level(line: _Line, body: float, big: list[float], roman_seen: bool = False) -> int | None:
    """Markdown level of a heading line (2-5), or None for body text. Level 5 is a label
    heading inside a numbered section ('Discussion', 'Evidence summary'), which is dropped."""
    t = line.text.strip()
    if len(t) > 140 or len(t) < 2 or t.endswith((",", ";")) or _CAPTION.match(t):
        return None
    larger = line.size >= body * HEADING_SIZE_RATIO
    if not (larger or line.bold):
        return None
    if _APPENDIX.match(t):
        return 2
    if _ROMAN.match(t):
        return 2
    if _UPPER.match(t):
        return 3
    if _LOWER.match(t):
        return 4
    m = _NUMERIC.match(t)
    if m and larger:
        # Under roman-numbered chapters and lettered sections, '1.' numbers the smallest parts.
        return 4 if roman_seen else min(2 + m.group(1).count("."), 4)
    if larger and not t.endswith("."):
        rank = big.index(line.size) if line.size in big else len(big)
        return min(2 + rank, 5)
    return None


def _assemble(lines: list[_Line], tables: dict, n_pages: int) -> PdfText:
    # Running heads and feet.
    keyed = Counter()
    for ln in lines:
        if ln.margin:
            keyed[(re.sub(r"\d+", "#", ln.text.lower()))] += 1
    threshold = max(3, int(n_pages * REPEAT_FRACTION))
    kept: list[_Line] = []
    dropped = 0
    for ln in lines:
        if ln.text.startswith("\x00"):
            kept.append(ln)
            continue
        t = ln.text.strip()
        if ln.margin and (keyed[re.sub(r"\d+", "#", t.lower())] >= threshold or _PAGE_NO.match(t)):
            dropped += 1
            continue
        if _TOC_LINE.search(t):  # a table-of-contents entry: not guideline text
            dropped += 1
            continue
        kept.append(ln)
    text_lines = [ln for ln in kept if not ln.text.startswith("\x00")]
    if not text_lines:
        return PdfText("", None, n_pages, 0, dropped)

    # Front matter written as text at the very top ('---' ... '---').
    front = None
    if text_lines[0].text.strip() == "---":
        for i in range(1, min(len(text_lines), 60)):
            if text_lines[i].text.strip() in ("---", "..."):
                front = "\n".join(ln.text for ln in text_lines[1:i]) + "\n"
                drop = set(map(id, text_lines[: i + 1]))
                kept = [ln for ln in kept if id(ln) not in drop]
                text_lines = text_lines[i + 1:]
                break

    weights = Counter()
    for ln in text_lines:
        weights[round(ln.size, 1)] += len(ln.text)
    body = weights.most_common(1)[0][0] if weights else 10.0
    big = sorted({round(ln.size, 1) for ln in text_lines if ln.size >= body * HEADING_SIZE_RATIO}, reverse=True)
    title_size = big[0] if big else None

    vocab = Counter()
    for ln in text_lines:
        for w in re.findall(r"[A-Za-z][A-Za-z\-]+[A-Za-z]", ln.text):
            vocab[w.lower()] += 1

    blocks: list[tuple[str, list[str]]] = []  # (kind, lines): kind in h1..h5, p, li, table, caption
    headings: list[str] = []
    prev: _Line | None = None
    title_done = False
    in_recs = False
    last_upper: str | None = None
    roman_seen = False
    last_caption = ""
    last_header: list[str] | None = None
    n_tables = 0
    for ln in kept:
        if ln.text.startswith("\x00table:"):
            _, p, top = ln.text.split(":")
            rows = tables[(int(p), float(top))]
            if blocks and blocks[-1][0] == "caption":
                last_caption = " ".join(blocks[-1][1])
            elif last_header == rows[0] and last_caption:
                blocks.append(("caption", [last_caption + " (continued)"]))
            else:
                last_caption = ""
            last_header = rows[0]
            blocks.append(("table", [_md_row(r) for r in rows[:1]] + ["|" + "---|" * len(rows[0])]
                           + [_md_row(r) for r in rows[1:]]))
            n_tables += 1
            prev = None
            continue
        t = ln.text.strip()
        if not t:
            continue
        gap = (ln.top - prev.bottom) if (prev is not None and prev.page == ln.page) else None
        height = max(ln.bottom - ln.top, 1.0)
        level = _heading_level(ln, body, big, roman_seen)
        if level is not None and not title_done and title_size and ln.size == title_size and ln.page <= 2:
            if blocks and blocks[-1][0] == "h1" and prev is not None and prev.size == ln.size:
                blocks[-1][1].append(t)
            else:
                blocks.append(("h1", [t]))
            prev = ln
            continue
        if blocks and blocks[-1][0] == "h1":
            title_done = True
        if _REC_LABEL.match(t) and (ln.bold or ln.size >= body * HEADING_SIZE_RATIO):
            in_recs = True
            prev = ln
            continue
        m = _REC_ITEM.match(t)
        if in_recs and m:
            blocks.append(("h4", [f"Recommendation {m.group(1)}"]))
            blocks.append(("p", [f"Recommendation {m.group(1)}. {m.group(2)}"]))
            prev = ln
            continue
        if level is not None:
            in_recs = False
            if level == 2 and re.match(r"^[IVX]\.\s", t) and last_upper and ord(t[0]) == ord(last_upper) + 1:
                level = 3  # 'I.' after 'H.' is a letter, not a roman numeral
            roman_seen = roman_seen or (level == 2 and bool(_ROMAN.match(t)))
            last_upper = t[0] if level == 3 and _UPPER.match(t) else (None if level == 2 else last_upper)
            if level >= 5:
                # A label inside a numbered section ('Discussion', 'Evidence summary'): dropped. As a
                # heading it would part a recommendation from its discussion; as text it is noise.
                headings.append(t)
                blocks.append(("p", []))  # what follows the label starts a paragraph of its own
                prev = ln
                continue
            kind = f"h{level}"
            if (blocks and blocks[-1][0] == kind and prev is not None and kind != "p"
                    and prev.size == ln.size and gap is not None and gap < height):
                blocks[-1][1].append(t)  # a heading wrapped over two lines
            else:
                blocks.append((kind, [t]))
                headings.append(t)
            prev = ln
            continue
        if _CAPTION.match(t) and (ln.bold or gap is None or gap > height * PARA_GAP):
            blocks.append(("caption", [t]))
            prev = ln
            continue
        bullet = _BULLET.match(t)
        if bullet:
            blocks.append(("li", [t[bullet.end():]]))
        elif in_recs and blocks and blocks[-1][0] == "p" and blocks[-1][1] and \
                blocks[-1][1][0].startswith("Recommendation ") and (gap is None or gap <= height * PARA_GAP * 2):
            t = re.sub(r"^[a-z]\s+(?=\()", "", t)
            blocks[-1][1].append(t)  # the recommendation's wrapped text and its strength line
        elif (blocks and blocks[-1][0] in ("p", "li", "caption") and prev is not None
              and (gap is None and not _SENTENCE_END.search(blocks[-1][1][-1] if blocks[-1][1] else ".")
                   or gap is not None and gap <= height * PARA_GAP)):
            blocks[-1][1].append(t)
        else:
            if in_recs and not m:
                in_recs = False
            blocks.append(("p", [t]))
        prev = ln

    out: list[str] = []
    for kind, parts in blocks:
        if not parts:
            continue
        if kind == "table":
            out.append("\n".join(parts))
            continue
        text = _join_lines(parts, vocab)
        if kind == "h1":
            out.append("# " + text)
        elif kind[0] == "h":
            out.append("#" * int(kind[1]) + " " + text)
        elif kind == "li":
            out.append("- " + text)
        else:
            if text.startswith("Recommendation "):  # a footnote letter left before the strength
                text = re.sub(r"\s[a-z]\s+\((?=Strong|Weak|Neither|Conditional)", " (", text)
            out.append(text)
    md = ""
    for i, (blk, (kind, parts)) in enumerate(zip(out, [b for b in blocks if b[1]])):
        if i:
            prev_kind = [b for b in blocks if b[1]][i - 1][0]
            tight = (kind == "li" and prev_kind == "li") or (kind == "table" and prev_kind == "caption")
            md += "\n" if tight else "\n\n"
        md += blk
    return PdfText(md + "\n", front, n_pages, n_tables, dropped, headings)


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "/") for c in cells) + " |"


def _join_lines(parts: list[str], vocab: Counter) -> str:
    """Lines of one paragraph -> one line; hyphenated line ends joined."""
    out = parts[0].replace("\u00ad", "")
    for nxt in parts[1:]:
        nxt = nxt.replace("\u00ad", "")
        m = re.search(r"([A-Za-z]+)-$", out)
        n = re.match(r"([a-z][A-Za-z]*)", nxt)
        if m and n:
            joined = (m.group(1) + n.group(1)).lower()
            hyphenated = f"{m.group(1)}-{n.group(1)}".lower()
            if vocab.get(hyphenated, 0) > 0 and vocab.get(joined, 0) == 0:
                out = out + nxt  # a real compound: keep its hyphen
            else:
                out = out[:-1] + nxt
        else:
            out = out + " " + nxt
    return " ".join(out.split())
