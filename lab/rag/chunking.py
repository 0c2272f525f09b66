"""Split documents into chunks that respect Japanese sentences, with ids that never change for the
same text: `<source>#<position>:<hash of the chunk text>`. Re-indexing the same file therefore
produces the same ids (nothing to do), and an edited file produces new ids for what changed."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

# Paragraphs, lines, then sentence ends (Japanese and Western), then clause marks, then anything.
# keep_separator="end" leaves "。" at the end of its own sentence instead of starting the next chunk.
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "!", "?", "．", ". ", "、", "，", ", ", " ", ""]


@dataclass(frozen=True)
class Chunk:
    id: str
    source: str
    position: int
    text: str
    title: str
    start: int
    source_hash: str

    def metadata(self) -> dict:
        return {"source": self.source, "chunk_id": self.id, "position": self.position, "title": self.title,
                "start": self.start, "source_hash": self.source_hash}


def splitter(size: int, overlap: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap, separators=SEPARATORS,
                                          keep_separator="end", add_start_index=True, strip_whitespace=True)


def chunk_id(source: str, position: int, text: str) -> str:
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]
    return f"{source}#{position}:{digest}"


def split_documents(documents: list[Document], size: int, overlap: int) -> list[Chunk]:
    split = splitter(size, overlap)
    chunks: list[Chunk] = []
    for doc in documents:
        source = doc.metadata["source"]
        pieces = [p for p in split.split_documents([doc]) if p.page_content.strip()]
        for position, piece in enumerate(pieces):
            chunks.append(Chunk(id=chunk_id(source, position, piece.page_content), source=source, position=position,
                                text=piece.page_content, title=doc.metadata.get("title") or source,
                                start=int(piece.metadata.get("start_index", -1)),
                                source_hash=doc.metadata.get("source_hash", "")))
    return chunks
