"""A corpus is read as a stream; bad input is one line naming the file, the line and the field."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lab.dedup.readers import Corpus
from lab.errors import UserError


def jsonl(tmp_path, rows, name="c.jsonl"):
    path = tmp_path / name
    path.write_bytes(b"".join(r if isinstance(r, bytes) else (json.dumps(r, ensure_ascii=False) + "\n").encode() for r in rows))
    return path


def test_jsonl_documents_keep_their_records_and_ids(tmp_path):
    path = jsonl(tmp_path, [{"id": "a", "text": "一つ目", "url": "u1"}, b"\n", {"id": "b", "text": "二つ目"}])
    docs = list(Corpus(path).docs())
    assert [(d.index, d.id, d.text) for d in docs] == [(0, "a", "一つ目"), (1, "b", "二つ目")]
    assert docs[0].record == {"id": "a", "text": "一つ目", "url": "u1"} and docs[1].where == "c.jsonl:3"


def test_non_utf8_line_names_file_and_line(tmp_path):
    path = jsonl(tmp_path, [{"id": 1, "text": "よい行"}, {"id": 2, "text": "これも"}, '{"id": 3, "text": "'.encode() + "壊れた".encode("shift_jis") + b'"}\n'])
    with pytest.raises(UserError, match=r"^c.jsonl:3: not UTF-8 text \(byte \d+\)$"):
        list(Corpus(path).docs())


def test_unknown_text_field_lists_the_fields(tmp_path):
    path = jsonl(tmp_path, [{"id": 1, "body": "本文"}])
    with pytest.raises(UserError, match=r"^c.jsonl:1: text: field not found \(fields: id, body\)$"):
        Corpus(path).first()


def test_missing_id_and_duplicate_ids_are_refused(tmp_path):
    with pytest.raises(UserError, match=r"c.jsonl:2: doc_id: field not found"):
        list(Corpus(jsonl(tmp_path, [{"doc_id": 1, "text": "a"}, {"text": "b"}]), id_field="doc_id").docs())
    with pytest.raises(UserError, match=r"c.jsonl:2: id: duplicate id 7 \(first at c.jsonl:1\)"):
        list(Corpus(jsonl(tmp_path, [{"id": 7, "text": "a"}, {"id": 7, "text": "b"}])).docs())
    docs = list(Corpus(jsonl(tmp_path, [{"text": "a"}, {"text": "b"}]), id_field=None).docs())
    assert [d.id for d in docs] == [1, 2]


def test_empty_corpus_and_bad_json(tmp_path):
    with pytest.raises(UserError, match=r"no documents \(the corpus is empty\)"):
        list(Corpus(jsonl(tmp_path, [b"\n", b"  \n"])).docs())
    with pytest.raises(UserError, match=r"^c.jsonl:1: invalid JSON"):
        list(Corpus(jsonl(tmp_path, [b"{not json}\n"])).docs())
    with pytest.raises(UserError, match=r"c.jsonl:1: text: expected a string, got int"):
        list(Corpus(jsonl(tmp_path, [{"id": 1, "text": 5}])).docs())


def test_plain_text_is_one_document_per_line_numbered_by_line(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("一行目\n\n三行目\n", encoding="utf-8")
    assert [(d.id, d.text) for d in Corpus(path).docs()] == [(1, "一行目"), (3, "三行目")]


def test_parquet_reads_columns_and_names_a_missing_one(tmp_path):
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"doc": ["x", "y"], "content": ["本文一", "本文二"]}), path)
    docs = list(Corpus(path, text_field="content", id_field="doc").docs())
    assert [(d.id, d.text) for d in docs] == [("x", "本文一"), ("y", "本文二")]
    with pytest.raises(UserError, match=r"^c.parquet: text: column not found \(columns: doc, content\)$"):
        list(Corpus(path).docs())


def test_a_sample_is_fixed_by_its_seed_and_read_in_file_order(tmp_path):
    path = jsonl(tmp_path, [{"id": i, "text": f"文書{i}"} for i in range(100)])
    first = [d.id for d in Corpus(path, sample_size=10, sample_seed=3).docs()]
    again = [d.id for d in Corpus(path, sample_size=10, sample_seed=3).docs()]
    other = [d.id for d in Corpus(path, sample_size=10, sample_seed=4).docs()]
    assert first == again == sorted(first) and len(first) == 10 and first != other
    assert len(Corpus(path, sample_size=10)) == 10 and len(Corpus(path, sample_size=500)) == 100
