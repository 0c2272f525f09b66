"""RAG through an OpenAI-compatible endpoint: the lab's own `lab serve tiny` on 127.0.0.1 streams the
answer to the RAG prompt and judges the three views; an unreachable endpoint is one clear line."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from backends.local import wait_until
from lab.errors import UserError
from lab.rag.chain import generate, rag_messages, stream_many
from lab.rag.judge import VIEWS, judge_all
from lab.rag.retrieve import Hit
from lab.rag.spec import GeneratorSpec, RagJudgeSpec
from tests.conftest import REPO

pytestmark = pytest.mark.integration

HITS = [Hit(rank=1, source="linear_chuo.txt", chunk_id="linear_chuo.txt#1:x", score=0.9,
            text="山梨リニア実験線では2015年に有人走行で時速603キロメートルを記録しました。", title="リニア中央新幹線")]


@pytest.fixture
def served_tiny(tiny_workspace, tmp_path):
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "lab.cli", "serve", "tiny", "--port", "0"], cwd=REPO,
                                env={**os.environ, "LAB_WORKSPACE": str(tiny_workspace)}, stdout=out, stderr=subprocess.STDOUT)

    def url():
        m = re.search(r"at (http://127\.0\.0\.1:\d+/v1)", log.read_text(errors="replace"))
        return m.group(1) if m else None
    try:
        assert wait_until(lambda: url() is not None or proc.poll() is not None, 120, 0.2) and url(), log.read_text()[-2000:]
        yield url()
    finally:
        proc.terminate()
        proc.wait(10)


def test_endpoint_streams_the_rag_answer_and_judges_the_three_views(served_tiny):
    generator = GeneratorSpec(base_url=served_tiny, model="tiny", max_new_tokens=24)
    messages = rag_messages("リニアの最高速度は？", HITS)
    seen = [replies[0] for replies in stream_many(generator, [messages])]
    assert len(seen) >= 2 and all(b.startswith(a) for a, b in zip(seen, seen[1:]))  # text grows piece by piece
    assert not seen[-1].startswith("⚠")
    assert isinstance(generate(generator, messages), str)

    judged = judge_all(RagJudgeSpec(model="tiny", base_url=served_tiny, max_tokens=24), "リニアの最高速度は？",
                       HITS[0].text, seen[-1])
    assert set(judged) == set(VIEWS)
    for view in judged.values():
        assert "reason" in view  # the judge's own words are the evidence
        assert view["score"] is None or 0.0 <= view["score"] <= 1.0


def test_unreachable_endpoint_is_one_line():
    with pytest.raises(UserError, match=r"^generator.base_url: http://127.0.0.1:9/v1 failed \(APIConnectionError"):
        generate(GeneratorSpec(base_url="http://127.0.0.1:9/v1", model="x"), rag_messages("質問", HITS))
