"""RAG text handling without models: loading documents of every kind (and refusing broken ones with
a per-file error), sentence-aware chunking with stable ids, Japanese BM25, fusion, citations, the
evaluation's measures and its QA file checks."""
from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from langchain_core.documents import Document

from lab.errors import UserError
from lab.presets import load_preset
from lab.rag.bm25 import SparseBM25
from lab.rag.chain import DEFAULT_PROMPT, check_prompt, cited_numbers, rag_messages, sources_json
from lab.rag.chunking import chunk_id, split_documents
from lab.rag.evaluate import char_f1, gold_rank, load_qa
from lab.rag.job import plan_update
from lab.rag.loaders import load_documents
from lab.rag.retrieve import BM25Retriever, Hit, ScoredEnsembleRetriever
from lab.rag.tokenizers import get_tokenizer


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with `text` in Helvetica (ASCII), written by hand with a correct xref table."""
    stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 144] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_every_kind_of_document_loads_and_broken_files_are_skipped_with_their_error(tmp_path):
    (tmp_path / "a.md").write_text("# 見出し\n\n本文です。", encoding="utf-8")
    (tmp_path / "b.txt").write_bytes("シフトJISの文章です。".encode("cp932"))
    (tmp_path / "c.html").write_text("<html><head><title>題名</title><script>var x='秘密';</script></head>"
                                     "<body><nav>メニュー</nav><p>本文の段落。</p></body></html>", encoding="utf-8")
    (tmp_path / "d.pdf").write_bytes(minimal_pdf("Retrieval augmented generation"))
    (tmp_path / "e.jsonl").write_text('{"id": "r1", "text": "一行目の文書。"}\n{"title": "x"}\nnot json\n'
                                      '{"id": "r2", "content": "二行目の文書。"}\n', encoding="utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02garbage")
    (tmp_path / ".hidden.md").write_text("見えない", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")

    result = load_documents(tmp_path)
    docs = {d.metadata["source"]: d for d in result.documents}
    assert set(docs) == {"a.md", "b.txt", "c.html", "d.pdf", "e.jsonl#r1", "e.jsonl#r2"}
    assert docs["a.md"].metadata["title"] == "見出し"
    assert "シフトJIS" in docs["b.txt"].page_content
    assert docs["c.html"].metadata["title"] == "題名"
    assert "本文の段落。" in docs["c.html"].page_content
    assert "秘密" not in docs["c.html"].page_content and "メニュー" not in docs["c.html"].page_content
    assert "Retrieval augmented generation" in docs["d.pdf"].page_content
    assert docs["e.jsonl#r2"].page_content == "二行目の文書。"
    errors = {(e.file, e.line): e.error for e in result.errors}
    assert "text: field required" in errors[("e.jsonl", 2)]
    assert "invalid JSON" in errors[("e.jsonl", 3)]
    assert "not a readable PDF" in errors[("broken.pdf", None)]
    assert "binary" in errors[("binary.txt", None)]
    assert len(result.errors) == 4


def test_sentence_ends_stay_with_their_sentence_and_ids_are_stable():
    text = "".join(f"これは{i}番目の文で、少し長めに書いてあります。" for i in range(30))
    doc = Document(page_content=text, metadata={"source": "s.txt", "title": "s", "source_hash": "h"})
    chunks = split_documents([doc], 80, 20)
    assert len(chunks) > 5
    for c in chunks:
        assert c.text.endswith("。"), c.text
        assert not c.text.startswith("。")
        assert c.id == chunk_id("s.txt", c.position, c.text)
        assert c.id.startswith(f"s.txt#{c.position}:")
    assert [c.id for c in split_documents([doc], 80, 20)] == [c.id for c in chunks]

    edited = Document(page_content=text.replace("29番目", "二十九番目"), metadata=doc.metadata)
    new_ids = [c.id for c in split_documents([edited], 80, 20)]
    assert new_ids[:-1] == [c.id for c in chunks][:-1]  # only the chunk that changed gets a new id
    assert new_ids[-1] != chunks[-1].id


def test_chunk_overlap_must_be_below_size_names_the_key():
    with pytest.raises(UserError, match=r"^--set chunking.overlap: must be smaller than size"):
        load_preset("rag-index", ["chunking.size=100", "chunking.overlap=100"])


def test_planning_adds_only_new_chunks_and_removes_only_chunks_of_reread_or_pruned_files():
    docs = [Document(page_content="一つ目の文。二つ目の文。", metadata={"source": "a.md", "title": "a"}),
            Document(page_content="別の文書です。", metadata={"source": "b.md", "title": "b"})]
    chunks = split_documents(docs, 200, 0)
    existing = {chunks[0].id: "a.md", "a.md#1:old": "a.md", "c.md#0:x": "c.md", "d.jsonl#7:y": "d.jsonl#7"}
    plan = plan_update(chunks, existing, loaded_files={"a.md", "b.md"}, all_files={"a.md", "b.md", "d.jsonl"}, prune=False)
    assert [c.source for c in plan.to_add] == ["b.md"]
    assert plan.to_delete == ["a.md#1:old"]  # c.md is not in this folder, but prune is off
    pruned = plan_update(chunks, existing, {"a.md", "b.md"}, {"a.md", "b.md", "d.jsonl"}, prune=True)
    assert sorted(pruned.to_delete) == ["a.md#1:old", "c.md#0:x"]  # d.jsonl is still there (unreadable now)


@pytest.mark.parametrize("name", ["sudachi", "fugashi"])
def test_japanese_tokenizers_keep_content_words_and_drop_particles(name):
    terms = get_tokenizer(name)("東海道新幹線は1964年に開業しました。")
    assert "開業" in terms and "1964" in terms
    assert "は" not in terms and "。" not in terms and "に" not in terms
    assert any("新幹線" in t or "幹線" in t for t in terms)


@pytest.mark.parametrize("name", ["sudachi", "fugashi"])
def test_tokenizers_drop_english_function_words_and_keep_codes_whole(name):
    terms = get_tokenizer(name)("How high is the MK-12S kettle? MK-12S の「H1」表示")
    assert not {"how", "is", "the", "ハウ", "ザ"} & set(terms)
    assert "kettle" in terms or "ケトル" in terms
    assert terms.count("mk-12s") == 2 and "h1" in terms  # besides the analyser's pieces ("mk", "12", "s")
    assert "mk-12" not in terms and "12s" not in terms


def test_a_name_cut_differently_by_what_follows_it_still_matches():
    """Sudachi reads 金谷町は as one word and 金谷町の特産品は as 金谷 / 町 / 特産品 (in every split
    mode); the character pairs of the default analysis are the same in both places."""
    legacy = get_tokenizer("sudachi", None)
    assert legacy("金谷町は") == ["金谷町"]
    assert not set(legacy("金谷町は")) & set(legacy("金谷町の特産品は"))  # why one granularity is not enough
    terms = get_tokenizer("sudachi")
    assert {"^金谷", "^谷町"} <= set(terms("金谷町は")) & set(terms("金谷町の特産品は"))

    docs = ["金谷町の特産品は緑茶で、毎年五月に新茶まつりが開かれます。", "金山町は温泉で知られる町です。",
            "谷町の商店街には古い和菓子屋が並びます。", "金谷駅の近くには大きな公園があります。"]
    bm25 = SparseBM25([terms(d) for d in docs])
    assert int(np.argmax(bm25.get_scores(terms("金谷町は何が有名ですか？")))) == 0
    # the old terms find nothing for the question's only content word
    assert not SparseBM25([legacy(d) for d in docs]).get_scores(legacy("金谷町は何が有名ですか？")).any()


def test_analyses_hold_long_and_short_units_and_mark_pairs_apart_from_words():
    from lab.rag.tokenizers import ANALYSES, bigrams
    assert bigrams("金谷町の特産品") == ["^金谷", "^谷町", "^特産", "^産品"]
    assert bigrams("ミナト精機、株") == ["^ミナ", "^ナト", "^ト精", "^精機", "^株"]
    assert bigrams("これはひらがなだけ") == []
    long_short = get_tokenizer("sudachi", "AC")("株式会社ミナト精機の東海道新幹線")
    assert {"株式会社", "株式", "会社", "東海道新幹線", "東海道", "新幹線"} <= set(long_short)
    assert "株式会社" not in get_tokenizer("sudachi", "B")("株式会社ミナト精機")
    assert "^株式" in get_tokenizer("fugashi", "B+bigrams")("株式会社")
    assert set(ANALYSES) == {"B", "AC", "B+bigrams", "AC+bigrams"}
    with pytest.raises(UserError, match="analysis: 'X'"):
        get_tokenizer("sudachi", "X")


def test_an_index_built_before_the_analysis_change_keeps_its_terms_until_rewritten_in_place(workspace):
    from lab.rag.index import RagIndex, write_manifest
    from lab.rag.tokenizers import DEFAULT_ANALYSIS
    index = RagIndex.open_or_create("old", {"model": "m"}, "sudachi", {})
    del index.manifest["analysis"]  # as index.json was written before analyses existed
    write_manifest(index.path, index.manifest)
    index = RagIndex.open("old")
    assert index.analysis is None
    legacy = get_tokenizer("sudachi", index.analysis)
    text = "金谷町の特産品は緑茶です。"
    index.collection().add(ids=["a.md#0:x"], embeddings=[[1.0, 0.0]], documents=[text],
                           metadatas=[{"source": "a.md", "chunk_id": "a.md#0:x", "terms": " ".join(legacy(text))}])
    assert "^谷町" not in index.all_chunks()[2][0]["terms"]

    assert index.retokenize(get_tokenizer("sudachi", DEFAULT_ANALYSIS), DEFAULT_ANALYSIS) == 1
    again = RagIndex.open("old")
    assert again.analysis == DEFAULT_ANALYSIS
    ids, texts, metas = again.all_chunks()
    assert texts == [text] and metas[0]["source"] == "a.md"
    assert metas[0]["terms"].split() == get_tokenizer("sudachi", DEFAULT_ANALYSIS)(text)
    assert again.collection().get(ids=ids, include=["embeddings"])["embeddings"][0].tolist() == [1.0, 0.0]


def reference_bm25(corpus, query, k1=1.5, b=0.75):
    """Okapi BM25 with Lucene's idf, term by term, as the textbook writes it."""
    n, avgdl = len(corpus), sum(len(d) for d in corpus) / len(corpus)
    scores = []
    for doc in corpus:
        score = 0.0
        for term in query:
            df = sum(term in d for d in corpus)
            tf = doc.count(term)
            if df and tf:
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avgdl))
        scores.append(score)
    return scores


def test_sparse_bm25_gives_the_textbook_scores_and_finds_words_in_a_one_document_index():
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(200)]
    corpus = [[rng.choice(vocab[: rng.randint(3, 200)]) for _ in range(rng.randint(1, 30))] for _ in range(120)]
    corpus.append(["w0", "w0", "w0"])
    ours = SparseBM25(corpus)
    for query in (["w1", "w2", "w1"], ["w0"], ["unknown"], ["w3", "w150", "nope"]):
        assert np.allclose(ours.get_scores(query), reference_bm25(corpus, query))
    docs = [Document(page_content=" ".join(t), metadata={"i": i}) for i, t in enumerate(corpus)]
    top = ours.get_top_n(["w199"], docs, n=5)
    assert all(d.metadata["bm25_score"] > 0 for d in top)
    assert [d.metadata["bm25_score"] for d in top] == sorted((d.metadata["bm25_score"] for d in top), reverse=True)
    single = SparseBM25([["将棋", "駒", "四十"]])
    assert [d.page_content for d in single.get_top_n(["駒"], [Document(page_content="将棋")], n=5)] == ["将棋"]


def test_weighted_rank_fusion_keeps_each_lists_score():
    def doc(cid, **scores):
        return Document(page_content=cid, metadata={"chunk_id": cid, **scores})
    dense = [doc("a", dense_score=0.9), doc("b", dense_score=0.8)]
    bm25 = [doc("b", bm25_score=5.0), doc("c", bm25_score=1.0)]
    lists = [BM25Retriever(vectorizer=SparseBM25([["x"]]), docs=[doc("x")]) for _ in range(2)]
    fused = ScoredEnsembleRetriever(retrievers=lists, weights=[0.3, 0.7], id_key="chunk_id", c=60) \
        .weighted_reciprocal_rank([dense, bm25])
    assert [d.metadata["chunk_id"] for d in fused] == ["b", "c", "a"]
    b = fused[0].metadata
    assert b["dense_score"] == 0.8 and b["bm25_score"] == 5.0
    assert b["score"] == pytest.approx(0.3 / 62 + 0.7 / 61)


def test_prompt_numbers_the_chunks_and_citations_map_back_to_them():
    hits = [Hit(rank=1, source="fujisan.md", chunk_id="fujisan.md#0:aa", score=0.5, text="標高は3776メートルです。", title="富士山"),
            Hit(rank=2, source="hanabi.md", chunk_id="hanabi.md#0:bb", score=0.4, text="尺玉は約30センチ。", title="花火")]
    content = rag_messages("富士山の高さは？", hits)[0]["content"]
    assert "[1] 富士山（fujisan.md）\n標高は3776メートルです。" in content
    assert content.endswith("質問: 富士山の高さは？")
    answer = "3776メートルです[1]。[7]は無い番号。"
    assert cited_numbers(answer, 2) == [1]
    assert [s["cited"] for s in sources_json(hits, answer)] == [True, False]
    assert check_prompt(None) == DEFAULT_PROMPT
    with pytest.raises(UserError, match=r"missing placeholder \{context\}"):
        check_prompt("質問: {question}")
    with pytest.raises(UserError, match=r"unknown placeholder \{foo\}"):
        check_prompt("{context} {question} {foo}")


def test_evaluation_measures():
    assert char_f1("3776メートルです。", "3776メートル") == pytest.approx(2 * 8 / 10 * 1 / (8 / 10 + 1), abs=1e-3)
    assert char_f1("", "abc") == 0.0
    assert gold_rank(["x.md", "docs/fujisan.md", "fujisan.md"], ["fujisan.md"]) == 2
    assert gold_rank(["e.jsonl#3"], ["e.jsonl"]) == 1
    assert gold_rank(["x.md"], ["fujisan.md"]) is None


def test_qa_file_errors_name_file_line_and_field(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps({"question": "q1", "answer": "a", "source": "a.md"}) + "\n"
                    + json.dumps({"answer": "a", "source": "a.md"}) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"^qa.jsonl:2: question: field required$"):
        load_qa(path)
    path.write_text(json.dumps({"question": "q", "gold_source": ["a.md", "b.md"]}) + "\n", encoding="utf-8")
    assert load_qa(path)[0].sources == ["a.md", "b.md"]


def test_bundled_qa_set_points_at_bundled_documents():
    from lab.paths import SAMPLES_DIR
    rows = load_qa("samples/rag_qa.jsonl")
    assert len(rows) >= 20
    files = {p.name for p in (SAMPLES_DIR / "rag_docs").iterdir()}
    assert 10 <= len(files) <= 40
    for row in rows:
        assert set(row.sources) <= files, row
    # the set mixes questions in the passage's own words with paraphrases and other-language ones, in
    # the order the e2e test relies on (the first two are about fujisan.md)
    kinds = [json.loads(line)["kind"] for line in (SAMPLES_DIR / "rag_qa.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(kinds) == len(rows) and set(kinds) == {"keyword", "paraphrase", "cross-lingual", "identifier"}
    assert min(kinds.count(k) for k in set(kinds)) >= 10
    assert [r.sources for r in rows[:2]] == [["fujisan.md"], ["fujisan.md"]]
