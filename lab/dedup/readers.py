"""Read a corpus as a stream of documents: JSONL (or a JSON list), Parquet, or plain text with one
document per line. A sample is a fixed random subset of positions, so both passes over the file
(hashing, then writing kept/removed) see the same documents without holding them in memory.

Bad input is one line naming the file, the line (or row) and the field."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .. import jsonl
from ..errors import UserError

SUFFIX_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet", ".pq": "parquet",
                  ".txt": "text", ".text": "text", ".md": "text", ".tsv": "text"}


@dataclass
class Doc:
    index: int        # position in the (sampled) corpus, 0 … n−1
    id: Any           # the id field's value, or the line/row number
    text: str
    record: dict      # the original record, written back to kept.jsonl unchanged
    where: str        # "file:line" for messages


@dataclass
class Corpus:
    path: Path
    format: str = "auto"
    text_field: str = "text"
    id_field: str | None = "id"
    sample_size: int | None = None
    sample_seed: int = 0
    _positions: set[int] | None = field(default=None, repr=False)
    _total: int | None = field(default=None, repr=False)

    def __post_init__(self):
        self.path = Path(self.path)
        if self.format == "auto":
            self.format = SUFFIX_FORMATS.get(self.path.suffix.lower(), "text")
        elif self.format == "jsonl" and self.path.suffix.lower() == ".json":
            self.format = "json"
        if not self.path.is_file():
            raise UserError(f"{self.path}: not a file")

    @property
    def name(self) -> str:
        return self.path.name

    # ---- size and sampling ---------------------------------------------------------------------
    def source_count(self) -> int:
        """Documents in the whole file (a quick pass that does not parse JSON)."""
        if self._total is None:
            if self.format == "parquet":
                import pyarrow.parquet as pq
                self._total = pq.ParquetFile(self.path).metadata.num_rows
            elif self.format == "json":
                self._total = sum(1 for _ in self._raw_records())
            else:
                with open(self.path, "rb") as f:
                    self._total = sum(1 for line in f if line.strip())
        return self._total

    def __len__(self) -> int:
        total = self.source_count()
        return total if self.sample_size is None else min(self.sample_size, total)

    def _sample(self) -> set[int] | None:
        if self.sample_size is None or self.sample_size >= self.source_count():
            return None
        if self._positions is None:
            rng = random.Random(self.sample_seed)
            self._positions = set(rng.sample(range(self.source_count()), self.sample_size))
        return self._positions

    # ---- reading -------------------------------------------------------------------------------
    def docs(self, check_ids: bool = True) -> Iterator[Doc]:
        """Every document (of the sample) in file order. Raises UserError on the first bad one.
        `check_ids=False` skips the duplicate-id check (a second pass over a file already checked)."""
        sample = self._sample()
        seen_ids: dict[Any, str] = {}
        index = 0
        for position, (where, record) in enumerate(self._raw_records()):
            if sample is not None and position not in sample:
                continue
            text = record.get(self.text_field) if self.format != "text" else record["text"]
            if self.format != "text":
                if self.text_field not in record:
                    fields = ", ".join(map(str, record)) or "none"
                    raise UserError(f"{where}: {self.text_field}: field not found (fields: {fields})")
                if not isinstance(text, str):
                    raise UserError(f"{where}: {self.text_field}: expected a string, got {type(text).__name__}")
            doc_id = self._doc_id(record, where, position)
            if check_ids:
                if doc_id in seen_ids:
                    raise UserError(f"{where}: {self.id_field}: duplicate id {doc_id!r} (first at {seen_ids[doc_id]})")
                seen_ids[doc_id] = where
            yield Doc(index, doc_id, text, record, where)
            index += 1
        if index == 0:
            raise UserError(f"{self.path}: no documents (the corpus is empty)")

    def batches(self, size: int, max_chars: int = 1_000_000) -> Iterator[list[Doc]]:
        """Lists of up to `size` documents and about `max_chars` characters, so the working memory of
        a batch does not grow with document length."""
        batch: list[Doc] = []
        chars = 0
        for doc in self.docs():
            batch.append(doc)
            chars += len(doc.text)
            if len(batch) >= size or chars >= max_chars:
                yield batch
                batch, chars = [], 0
        if batch:
            yield batch

    def first(self) -> Doc:
        """The first document, fully checked (what a precheck needs)."""
        return next(self.docs())

    def check(self, limit: int = 2000) -> int:
        """Read up to `limit` documents so a bad line near the top is refused before a run starts."""
        n = 0
        for n, _ in enumerate(self.docs(), start=1):
            if n >= limit:
                break
        return n

    def _doc_id(self, record: dict, where: str, position: int):
        if self.format == "text":
            return record["id"]
        if self.id_field is None:
            return position + 1
        if self.id_field not in record:
            fields = ", ".join(map(str, record)) or "none"
            raise UserError(f"{where}: {self.id_field}: field not found (fields: {fields}; set id_field to null to number the rows)")
        value = record[self.id_field]
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise UserError(f"{where}: {self.id_field}: expected a string or an integer id, got {type(value).__name__}")
        return value

    def _raw_records(self) -> Iterator[tuple[str, dict]]:
        if self.format == "parquet":
            yield from self._parquet()
        elif self.format == "json":
            yield from self._json_list()
        else:
            yield from self._lines()

    def _lines(self) -> Iterator[tuple[str, dict]]:
        name = self.name
        if self.format != "text":
            for lineno, obj in jsonl.records(self.path, name):
                yield f"{name}:{lineno}", obj
            return
        with open(self.path, "rb", buffering=1 << 20) as f:
            for lineno, raw in enumerate(f, start=1):
                if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw.strip():
                    continue
                where = f"{name}:{lineno}"
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise UserError(f"{where}: not UTF-8 text (byte {e.start})") from None
                yield where, {"id": lineno, "text": line.rstrip("\r\n")}

    def _json_list(self) -> Iterator[tuple[str, dict]]:
        try:
            data = json.loads(self.path.read_bytes().decode("utf-8-sig"))
        except UnicodeDecodeError as e:
            raise UserError(f"{self.name}: not UTF-8 text (byte {e.start})") from None
        except json.JSONDecodeError as e:
            raise UserError(f"{self.name}:{e.lineno}: invalid JSON: {e.msg}") from None
        if not isinstance(data, list):
            raise UserError(f"{self.name}:1: a .json corpus holds a list of records")
        for i, obj in enumerate(data):
            if not isinstance(obj, dict):
                raise UserError(f"{self.name}: record {i + 1}: expected a JSON object")
            yield f"{self.name}: record {i + 1}", obj

    def _parquet(self) -> Iterator[tuple[str, dict]]:
        import pyarrow as pa
        import pyarrow.parquet as pq
        try:
            pf = pq.ParquetFile(self.path)
        except (pa.ArrowInvalid, OSError) as e:
            raise UserError(f"{self.name}: not a readable Parquet file ({str(e).splitlines()[0][:200]})") from None
        columns = pf.schema_arrow.names
        if self.text_field not in columns:
            raise UserError(f"{self.name}: {self.text_field}: column not found (columns: {', '.join(columns)})")
        if self.id_field is not None and self.id_field not in columns:
            raise UserError(f"{self.name}: {self.id_field}: column not found (columns: {', '.join(columns)}; "
                            "set id_field to null to number the rows)")
        row = 0
        for batch in pf.iter_batches(batch_size=4096):
            for obj in batch.to_pylist():
                row += 1
                yield f"{self.name}: row {row}", obj


def open_corpus(spec, path: Path) -> Corpus:
    return Corpus(path, spec.format, spec.text_field, spec.id_field, spec.sample_size, spec.sample_seed)


def jsonable(record: dict) -> dict:
    """A record as JSON can hold it (Parquet rows may carry timestamps, bytes, decimals)."""
    return json.loads(json.dumps(record, ensure_ascii=False, default=str))
