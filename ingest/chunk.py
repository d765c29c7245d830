"""SourceDoc -> Chunk[]: heading-aware chunking with stable ids and offsets.

Each chunk is the body of one heading (H1 > H2 > H3 path kept), split further at
paragraph / list-item boundaries only when it exceeds ``chunk_size``. Ids hash the
section path and text, so unchanged passages keep their id (and their embedding)
across runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .records import Chunk, SourceDoc, sha256
from .settings import Settings

_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
CHUNKER_VERSION = "heading-v1"
"""Bumped whenever chunking output changes for the same input: forces a rebuild."""


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
    for block in _blocks(doc.text, doc.title):
        body = doc.text[block.start:block.end]
        section = " > ".join(block.path)
        for offset, piece in _split_long(body, settings.chunk_size, settings.chunk_overlap):
            lead = len(piece) - len(piece.lstrip())
            piece_clean = piece.strip()
            if len(piece_clean) < 2:
                continue
            start = block.start + offset + lead
            h = sha256(section + "\n" + piece_clean)
            base = f"{doc.doc_id}:{h[:16]}"
            n = seen.get(base, 0)
            seen[base] = n + 1
            cid = base if n == 0 else f"{base}-{n}"
            chunks.append(Chunk(
                chunk_id=cid, doc_id=doc.doc_id, title=doc.title, section=section,
                version=doc.version, status=doc.status, last_reviewed=doc.last_reviewed,
                start=start, end=start + len(piece_clean), text=piece_clean, content_hash=h,
            ))
    return chunks


def embed_text(chunk: Chunk) -> str:
    """What the embedder and BM25 see: the section path gives a passage its topic."""
    return f"{chunk.section}\n{chunk.text}"


def chunker_fingerprint(settings: Settings) -> str:
    return f"{CHUNKER_VERSION}:{settings.chunk_size}:{settings.chunk_overlap}"
