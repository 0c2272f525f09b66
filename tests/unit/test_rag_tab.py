"""The RAG tab, below the browser: an upload it refuses is refused the way every tab refuses one (the
same check, the same one line, nothing kept, not even the good files of the same drop), and the
retrieval fusion is a form field mapped through the spec: it reaches the equivalent command, the
evaluation's spec, the chat's retrieval settings, and comes back from a preset."""
import gradio as gr
import pytest

from lab.errors import UserError
from lab.presets import validate
from lab.rag.spec import RetrievalSpec
from lab.runs import RunStore
from ui.i18n import I18n
from ui.run_panel.presets import take_upload as sft_take_upload
from ui.tabs import rag as rag_tab
from ui.tabs.rag.spec_form import RagForms


def _binary(path):
    path.write_bytes(b"\x00\x01binary\x00" * 10)
    return str(path)


def test_a_bad_upload_is_refused_like_in_the_sft_tab_and_nothing_is_kept(workspace, tmp_path):
    bad = _binary(tmp_path / "notes.jsonl")  # a binary renamed .jsonl: both tabs take .jsonl
    with pytest.raises(UserError) as sft_error:
        sft_take_upload(bad)
    with pytest.raises(UserError) as rag_error:
        rag_tab.take_upload([bad], "e2e")
    assert str(rag_error.value) == str(sft_error.value) and "binary" in str(rag_error.value)
    assert "\n" not in str(rag_error.value)
    good = tmp_path / "good.md"
    good.write_text("# 富士山\n高さは 3776 m。\n", encoding="utf-8")
    with pytest.raises(UserError):
        rag_tab.take_upload([str(good), bad], "e2e")  # one bad file in the drop: none of it is kept
    assert not list((workspace / "uploads").rglob("*.*"))


def test_rag_refuses_a_type_it_cannot_index_and_keeps_good_files_under_its_index(workspace, tmp_path):
    csv = tmp_path / "table.csv"
    csv.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(UserError, match="type '.csv' is not accepted"):
        rag_tab.take_upload([str(csv)], "e2e")
    good = tmp_path / "good.md"
    good.write_text("本文\n", encoding="utf-8")
    folder = rag_tab.take_upload([str(good)], "../evil name")  # the index name is made a plain folder name
    assert folder == str(workspace / "uploads" / "rag" / "evil_name") and (workspace / "uploads" / "rag" / "evil_name" / "good.md").is_file()


@pytest.fixture
def rag_blocks(workspace):
    i18n = I18n(lang="en")
    with gr.Blocks() as demo:
        lang_state = gr.State("en")
        part = rag_tab.build(RunStore(), i18n, lang_state)
    return demo, part


def _fn(demo, name):
    fns = demo.fns.values() if isinstance(demo.fns, dict) else demo.fns
    return next(f.fn for f in fns if f.name == name)


def test_fusion_is_a_spec_field_of_the_form(rag_blocks):
    demo, part = rag_blocks
    forms = RagForms.create()
    widget = next(w for w in part["open_preset"][2] if w.elem_id == "rag-fusion")
    assert widget.value == "zscore" and set(widget.choices) == {("zscore", "zscore"), ("minmax", "minmax"), ("rrf", "rrf")}
    values = {**forms.preset_values(forms.index), **forms.preset_values(forms.chat), **forms.preset_values(forms.eval),
              "retrieval.fusion": "rrf"}
    spec = validate(forms.eval_dict(values), "form")
    assert spec.retrieval.fusion == "rrf" and spec.retrieval.dense_weight == 0.5
    in_page_order = [values[key] for key in forms.keys]  # as the page sends them: the widgets' order
    command = _fn(demo, "update_eval_command")(*in_page_order)
    assert "--set retrieval.fusion=rrf" in command and command.count("--set") == 1, command
    values["retrieval.fusion"] = "zscore"
    assert "fusion" not in _fn(demo, "update_eval_command")(*[values[key] for key in forms.keys])


def test_a_preset_fills_the_fusion_and_the_chat_retrieves_with_it(rag_blocks, workspace, monkeypatch):
    demo, part = rag_blocks
    preset = workspace / "presets" / "rag-rrf.yaml"
    preset.parent.mkdir()
    preset.write_text("kind: rag_eval\nretrieval: {mode: hybrid, fusion: minmax, k: 3}\n", encoding="utf-8")
    fn, _, outputs = part["open_preset"]
    filled = dict(zip([w.elem_id for w in outputs], fn("rag-rrf")))
    assert filled["rag-fusion"] == "minmax" and filled["rag-k"] == 3

    seen = {}

    def fake_retrieve(index, question, settings: RetrievalSpec):
        seen.update(index=index, fusion=settings.fusion, k=settings.k)
        raise UserError("index e2e: stopped here by the test")

    monkeypatch.setattr("lab.rag.retrieve.retrieve", fake_retrieve)
    send = _fn(demo, "send")
    replies = list(send("富士山の高さは？", [], [], False, "e2e", "hybrid", 4, 0.5, "", "tiny", "", "", 0.0, 16, "",
                        "rrf", "en"))
    assert seen == {"index": "e2e", "fusion": "rrf", "k": 4}
    assert replies[-1][0][-1]["content"] == "⚠ index e2e: stopped here by the test"


def test_the_chunk_list_says_when_the_answer_is_whole():
    """While the answer streams no chunk claims to be cited or not, and the list says it is not answered
    yet; the last render marks the cited chunks and says answered (what a browser test waits on)."""
    from lab.rag.retrieve import Hit
    from ui.tabs.rag.render import chunks_html
    from ui.tabs.rag.text import TEXT

    i18n = I18n("en")
    i18n.add(TEXT)
    hits = [Hit(1, "a.md", "a#0", 1.0, "富士山は3776メートル"), Hit(2, "b.md", "b#0", 0.5, "花火")]
    streaming = chunks_html(hits, None, i18n, "en")
    assert "data-answered='false'" in streaming and "data-cited" not in streaming
    done = chunks_html(hits, {1}, i18n, "en")
    assert "data-answered='true'" in done
    assert "id='rag-chunk-1' data-rank='1'" in done and done.count("data-cited='true'") == 1
    assert done.count("data-cited='false'") == 1
    assert "data-answered" not in chunks_html([], set(), i18n, "en")  # nothing retrieved: nothing to wait for
