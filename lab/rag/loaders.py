"""Read a folder (or one file) of documents into LangChain Documents: txt, md, html, pdf, jsonl.

A file that cannot be read (corrupt PDF, not text, bad JSONL line) does not stop the others: it
becomes a `LoadError` naming the file (and line) that the indexing report lists. Each Document
carries `source` (its path relative to the folder, posix style; `file.jsonl#id` for a JSONL row),
`title`, and `source_hash` (of its text, so a changed file is noticed)."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from langchain_core.documents import Document

from .. import jsonl
from ..errors import UserError

TEXT_SUFFIXES = {".txt", ".text", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".pdf", ".jsonl"}
JSONL_TEXT_FIELDS = ("text", "content", "body", "page_content")


@dataclass
class LoadError:
    file: str
    error: str
    line: int | None = None

    def as_dict(self) -> dict:
        return {"file": self.file, **({"line": self.line} if self.line else {}), "error": self.error}

    def __str__(self) -> str:
        return f"{self.file}{f':{self.line}' if self.line else ''}: {self.error}"


@dataclass
class LoadResult:
    documents: list[Document]
    errors: list[LoadError]
    files: list[str]


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def list_files(root: Path) -> list[Path]:
    """Supported files under `root` (or `root` itself), hidden ones left out, in a stable order."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise UserError(f"docs: not a file or folder: {root}")
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            out.append(path)
    return out


def source_name(path: Path, root: Path) -> str:
    return path.name if root.is_file() else path.relative_to(root).as_posix()


def read_text_file(path: Path) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise ValueError("binary data, not text")
    for encoding in ("utf-8-sig", "cp932"):  # Japanese files written on Windows are often Shift_JIS
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("not UTF-8 or Shift_JIS text")


def html_text(markup: str) -> tuple[str, str | None]:
    from bs4 import BeautifulSoup
    soup = BeautifulSoup(markup, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else None
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript", "template"]):
        tag.decompose()
    body = soup.body or soup
    lines = [line.strip() for line in body.get_text("\n").splitlines()]
    text = "\n".join(line for line in lines if line)
    return text, title


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise ValueError("encrypted PDF")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except (PdfReadError, KeyError, TypeError, AttributeError, OSError) as e:
        raise ValueError(f"not a readable PDF ({str(e).splitlines()[0][:120] if str(e) else type(e).__name__})") from None
    text = "\n\n".join(p for p in pages if p)
    if not text.strip():
        raise ValueError("the PDF has no text layer (scanned pages need OCR first)")
    return text


def _markdown_title(text: str) -> str | None:
    m = re.search(r"^#\s+(.+)$", text, re.M)
    return m.group(1).strip() if m else None


def _first_line(text: str) -> str | None:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:80]
    return None


def _document(text: str, source: str, title: str | None) -> Document:
    return Document(page_content=text, metadata={"source": source, "title": title or source,
                                                 "source_hash": text_hash(text)})


def load_file(path: Path, source: str) -> Iterator[Document | LoadError]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            yield from _jsonl_documents(path, source)
            return
        if suffix == ".pdf":
            text, title = pdf_text(path), None
        else:
            text = read_text_file(path)
            if suffix in HTML_SUFFIXES:
                text, title = html_text(text)
            elif suffix in (".md", ".markdown"):
                title = _markdown_title(text)
            else:
                title = _first_line(text)
    except (ValueError, OSError) as e:
        yield LoadError(source, str(e) or type(e).__name__)
        return
    if not text.strip():
        yield LoadError(source, "empty document")
        return
    yield _document(text, source, title)


def _jsonl_documents(path: Path, source: str) -> Iterator[Document | LoadError]:
    for lineno, row in jsonl.parse_text(read_text_file(path), source):  # UTF-8 or Shift_JIS, as any document
        if isinstance(row, jsonl.LineError):
            yield LoadError(source, row.reason, lineno)
            continue
        field = next((f for f in JSONL_TEXT_FIELDS if isinstance(row.get(f), str)), None)
        if field is None or not row[field].strip():
            yield LoadError(source, f"text: field required (one of {', '.join(JSONL_TEXT_FIELDS)})", lineno)
            continue
        row_id = row.get("id", lineno)
        yield _document(row[field], f"{source}#{row_id}", row.get("title") or f"{source}#{row_id}")


def load_documents(root: str | Path) -> LoadResult:
    root = Path(root)
    files = list_files(root)
    documents, errors = [], []
    for path in files:
        for item in load_file(path, source_name(path, root)):
            (errors if isinstance(item, LoadError) else documents).append(item)
    return LoadResult(documents, errors, [source_name(p, root) for p in files])
