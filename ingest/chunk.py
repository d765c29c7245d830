"""SourceDoc -> Chunk[]: heading-aware chunking with stable ids and offsets.

Each chunk is the body of one heading (H1 > ... > H5 path kept), split further at
paragraph / list-item boundaries only when it exceeds ``chunk_size``. Ids hash the
section path and text, so unchanged passages keep their id (and their embedding)
across runs.

Published documents add structure (``ingest/parse``): every table row is a passage of
its own (cells prefixed by their column header, the caption in the section path, the
table's notes attached), every numbered recommendation is a passage of its own (with
its strength where stated), reference markers are removed from passage text and kept in
``Chunk.refs``, pointer sentences to a table the document holds are dropped, and
sections that are not answer material (references, author lists, contents) are not
indexed. A document without any of these chunks exactly as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.settings import Settings

from .parse.recs import answer_text, normalised, paragraphs, recommendation
from .parse.rules import rules
from .parse.refs import cites_by_parenthesis, drop_pointer_sentences, is_non_answer, label_of, strip_refs
from .parse.tables import find_tables, row_text, strength_of_row
from .records import Chunk, SourceDoc, sha256

CONTEXT_CHARS = 600
"""How much of a recommendation's rationale is searched with it (about one paragraph)."""
_HEADING = re.compile(r"^(#{1,5})\s+(.+?)\s*#*\s*$")
CHUNKER_VERSION = "heading-v2"
"""Bumped whenever chunking output changes for the same input: forces a rebuild. v2: tables,
recommendations, reference markers, non-answer sections (house-style documents chunk as in v1)."""


@dataclass(frozen=True)
class _Block:
    path: tuple[str, ...]
    start: int
    end: int


def _blocks(text: str, title: str) -> list[_Block]:
    """Split a Markdown body into (heading path, span) blocks of body text."""
    blocks: list[_Block] = []
    path: list[str] = []
    levels: list[int] = []
    pos = 0
    start = 0
    in_fence = False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        m = None if in_fence else _HEADING.match(line.rstrip("\n"))
        if m:
            blocks.append(_Block(tuple(path), start, pos))
            level = len(m.group(1))
            while levels and levels[-1] >= level:
                levels.pop()
                path.pop()
            levels.append(level)
            path.append(m.group(2).strip())
            start = pos + len(line)
        pos += len(line)
    blocks.append(_Block(tuple(path), start, pos))
    has_h1 = bool(re.search(r"(?m)^#\s+\S", text))
    out = []
    for b in blocks:
        if not text[b.start:b.end].strip():
            continue
        # Text before any heading, or documents without an H1, hang under the title.
        p = b.path if (b.path and has_h1) else (title, *b.path)
        out.append(_Block(p, b.start, b.end))
    return out


def _split_long(text: str, size: int, overlap: int) -> list[tuple[int, str]]:
    """Split at paragraph, then list item, then line, then sentence boundaries."""
    if len(text) <= size:
        return [(0, text)]
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=overlap,
        separators=["\n\n", "\n- ", "\n* ", "\n", ". ", " "],
        keep_separator="start",
        add_start_index=True,
        strip_whitespace=False,
    )
    parts = []
    for d in splitter.create_documents([text]):
        s = d.metadata["start_index"]
        parts.append((s, d.page_content))
    return parts


def chunk_document(doc: SourceDoc, settings: Settings) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    paren_refs = cites_by_parenthesis(doc.text)
    all_tables = find_tables(doc.text)
    labels = {lab for t in all_tables if (lab := label_of(t.caption))}

    def add(piece: str, start: int, section: str, kind: str = "text", label: str = "",
            strength: str = "", end: int | None = None, clean: bool = True, context: str = "") -> None:
        lead = len(piece) - len(piece.lstrip())
        text = piece.strip()
        refs: tuple[str, ...] = ()
        if clean:
            c = strip_refs(text, paren_numbers=paren_refs)
            p = drop_pointer_sentences(c.text, labels)
            text, refs = p.text.strip(), c.refs + p.refs
        if len(text) < 2:
            return
        start += lead
        if context:
            context = drop_pointer_sentences(strip_refs(context, paren_numbers=paren_refs).text, labels).text
            context = " ".join(context.split())[:CONTEXT_CHARS]
        h = sha256(section + "\n" + text + ("\n" + context if context else ""))
        base = f"{doc.doc_id}:{h[:16]}"
        n = seen.get(base, 0)
        seen[base] = n + 1
        cid = base if n == 0 else f"{base}-{n}"
        chunks.append(Chunk(
            chunk_id=cid, doc_id=doc.doc_id, title=doc.title, section=section,
            version=doc.version, status=doc.status, last_reviewed=doc.last_reviewed,
            start=start, end=end if end is not None else start + len(piece.strip()), text=text,
            content_hash=h, kind=kind, refs=refs, strength=strength, label=label, context=context,
        ))

    def add_text(body: str, base: int, section: str) -> None:
        for offset, piece in _keep_antecedents(body, _split_long(body, settings.chunk_size, settings.chunk_overlap),
                                               settings.chunk_size):
            add(piece, base + offset, section)

    rec_texts: set[str] = set()
    pending_tables: list = []
    for block in _blocks(doc.text, doc.title):
        if any(is_non_answer(h) for h in block.path[1:]):
            continue  # references, author lists, contents: not answer material
        body = doc.text[block.start:block.end]
        section = " > ".join(block.path)
        tables = find_tables(body)
        # Text outside tables, split at numbered recommendations.
        pos = 0
        runs: list[tuple[int, int]] = []
        for t in tables:
            runs.append((pos, t.start))
            pos = t.end
        runs.append((pos, len(body)))
        for r0, r1 in runs:
            run = body[r0:r1]
            if not run.strip():
                continue
            paras = paragraphs(run)
            recs = [(a, b, rec) for a, b in paras if (rec := recommendation(run[a:b]))]
            if not recs and (r0, r1) == (0, len(body)):
                add_text(body, block.start, section)  # the common case: exactly as before
                continue
            at = 0
            for a, b, rec in recs:
                if run[at:a].strip():
                    add_text(run[at:a], block.start + r0 + at, section)
                after = [run[x:y] for x, y in paras if x >= b]
                context = after[0] if after and not recommendation(after[0]) else ""
                add(answer_text(run[a:b], rec), block.start + r0 + a, section, "recommendation", rec.label,
                    rec.strength, end=block.start + r0 + b, context=context)
                if chunks and chunks[-1].kind == "recommendation":
                    rec_texts.add(normalised(chunks[-1].text.replace(f" ({rec.strength})", "")))
                at = b
            if run[at:].strip():
                add_text(run[at:], block.start + r0 + at, section)
        pending_tables.append((block, section, tables))

    # Table rows after all text: a summary table that repeats recommendations made in full
    # elsewhere in the document adds nothing but duplicates, and is left out.
    for block, section, tables in pending_tables:
        for t in tables:
            caption = strip_refs(t.caption, paren_numbers=paren_refs).text.strip() if t.caption else ""
            t_section = f"{section} > {caption}" if caption else section
            for row, (s0, s1) in zip(t.rows, t.row_spans):
                if rec_texts and any(len(cell) > 60 and _repeats(normalised(cell), rec_texts) for cell in row):
                    continue
                text = strip_refs(row_text(t, row), paren_numbers=paren_refs)
                before = len(chunks)
                add(text.text, block.start + s0, t_section, "table_row", label_of(t.caption) or "",
                    strength_of_row(t, row), end=block.start + s1, clean=False)
                if text.refs and len(chunks) > before:
                    last = chunks[-1]
                    chunks[-1] = _with_refs(last, text.refs)
    chunks.sort(key=lambda c: c.start)
    return chunks


def _keep_antecedents(body: str, pieces: list[tuple[int, str]], size: int) -> list[tuple[int, str]]:
    """A piece that opens with a word pointing back ('It', 'However', 'These agents') joins the
    piece before it, so the sentence it depends on is in the same passage (up to a limit)."""
    if len(pieces) < 2:
        return pieces
    r = rules()
    limit = int(size * r.dependent_merge_ratio)
    out = [pieces[0]]
    for off, piece in pieces[1:]:
        prev_off, prev = out[-1]
        head = piece.lstrip().lstrip("-*\u2022 ").lstrip()
        if not r.dependent_openers.match(head) or off < prev_off + len(prev) - 1:
            out.append((off, piece))
            continue
        # Only the dependent paragraph moves back; the rest of the piece stays a passage.
        lead = len(piece) - len(piece.lstrip())
        cut = piece.find("\n\n", lead)
        cut = len(piece) if cut < 0 else cut
        if off + cut - prev_off > limit:
            out.append((off, piece))
            continue
        out[-1] = (prev_off, body[prev_off:off + cut])
        if piece[cut:].strip():
            out.append((off + cut, piece[cut:]))
    return out


def _repeats(cell: str, rec_texts: set[str]) -> bool:
    return any(cell == r or (len(cell) > 60 and cell in r) or (len(r) > 60 and r in cell) for r in rec_texts)


def _with_refs(c: Chunk, refs: tuple[str, ...]) -> Chunk:
    from dataclasses import replace

    return replace(c, refs=refs)


def embed_text(chunk: Chunk) -> str:
    """What the embedder and BM25 see: the section path gives a passage its topic (and a
    recommendation's context, the start of its rationale, is searched with it)."""
    base = f"{chunk.section}\n{chunk.text}"
    return f"{base}\n{chunk.context}" if chunk.context else base


def chunker_fingerprint(settings: Settings) -> str:
    """What shapes the passages of an unchanged file: the chunker, its settings, the reviewed
    structure rules and the PDF parser. A change to any of them rebuilds every passage."""
    from .parse.pdf import PARSER_VERSION
    from .parse.rules import RULES_FILE

    rules = sha256(RULES_FILE.read_text(encoding="utf-8"))[:8]
    return f"{CHUNKER_VERSION}:{settings.chunk_size}:{settings.chunk_overlap}:{rules}:{PARSER_VERSION}"
