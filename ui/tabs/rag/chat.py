"""The RAG tab's chat: retrieval settings (mode, k, fusion, dense weight, reranker) and the answering
model, a streamed answer whose [n] link to the retrieved chunks shown beside it, and optionally the
same model's answer without retrieval. Quick interactive calls into lab.rag, not a job."""
from __future__ import annotations

from dataclasses import dataclass, fields

import gradio as gr
from pydantic import ValidationError

from lab.errors import UserError
from lab.presets import validation_error_line
from lab.rag.chain import cited_numbers

from ...endpoint_fields import endpoint_field, key_field
from .context import Rag
from .render import chunks_html, linked_answer, model_choices


@dataclass
class ChatParts:
    api_key: gr.Textbox               # the participant's own key: never part of a spec
    compare: gr.Checkbox
    bot_rag: gr.Chatbot
    bot_plain: gr.Chatbot
    msg: gr.Textbox
    send_btn: gr.Button
    clear_btn: gr.Button
    chunks_panel: gr.HTML
    hits: gr.State
    widgets: dict                     # the chat form's widgets by spec key (RETRIEVAL_KEYS + GENERATOR_KEYS)


def build_chat_section(rag: Rag) -> ChatParts:
    forms, t, bind = rag.forms, rag.t, rag.bind
    form, base = forms.chat, forms.eval_base
    value = lambda key: forms.value(form, key, base)  # noqa: E731
    add = lambda key, component, label: bind(forms.widget(form, key, component), label)  # noqa: E731
    hits = gr.State([])
    with gr.Accordion(t("rag.chat"), open=True) as acc_chat:
        bind(acc_chat, "rag.chat")
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                add("retrieval.mode", gr.Radio(["hybrid", "dense", "bm25"], value=value("retrieval.mode"),
                                               label=t("rag.mode"), elem_id="rag-mode"), "rag.mode")
                bind(forms.widget(form, "retrieval.fusion", gr.Radio(
                    form.kinds["retrieval.fusion"][1], value=value("retrieval.fusion"), label=t("rag.fusion"),
                    info=t("rag.fusion_info"), elem_id="rag-fusion")), "rag.fusion", info_key="rag.fusion_info")
                add("retrieval.k", gr.Slider(1, 20, value=value("retrieval.k"), step=1, label=t("rag.k"),
                                             elem_id="rag-k"), "rag.k")
                add("retrieval.dense_weight", gr.Slider(0.0, 1.0, value=value("retrieval.dense_weight"), step=0.05,
                                                        label=t("rag.dense_weight"), elem_id="rag-dense-weight"),
                    "rag.dense_weight")
                add("retrieval.rerank_model", gr.Textbox(value=value("retrieval.rerank_model") or "", label=t("rag.rerank"),
                                                         elem_id="rag-rerank"), "rag.rerank")
                add("generator.model", gr.Dropdown(choices=model_choices(rag.store), value=value("generator.model"),
                                                   allow_custom_value=True, label=t("rag.model"), elem_id="rag-model"),
                    "rag.model")
                add("generator.base_url", endpoint_field(value("generator.base_url"), t("rag.base_url"), "rag-base-url"),
                    "rag.base_url")
                api_key = bind(key_field(t("rag.api_key"), "rag-api-key"), "rag.api_key")
                with gr.Row():
                    add("generator.temperature", gr.Slider(0.0, 1.5, value=value("generator.temperature"), step=0.05,
                                                           label=t("rag.temperature"), elem_id="rag-temperature"),
                        "rag.temperature")
                    add("generator.max_new_tokens", gr.Slider(8, 1024, value=value("generator.max_new_tokens"), step=8,
                                                              label=t("rag.max_new"), elem_id="rag-max-new"), "rag.max_new")
                compare = bind(gr.Checkbox(value=False, label=t("rag.compare"), elem_id="rag-compare"), "rag.compare")
                add("generator.prompt", gr.Textbox(value=forms.values_from(form, base)[form.keys.index("generator.prompt")],
                                                   lines=7, label=t("rag.prompt"), elem_id="rag-prompt"), "rag.prompt")
            with gr.Column(scale=2):
                with gr.Row():
                    bot_rag = bind(gr.Chatbot(label=t("rag.with"), height=340, elem_id="rag-chat"), "rag.with")
                    bot_plain = bind(gr.Chatbot(label=t("rag.without"), height=340, visible=False,
                                                elem_id="rag-chat-plain"), "rag.without")
                with gr.Row():
                    msg = bind(gr.Textbox(label=t("rag.message"), scale=4, elem_id="rag-msg"), "rag.message")
                    send_btn = bind(gr.Button(t("rag.send"), variant="primary", scale=1, elem_id="rag-send"),
                                    "rag.send", "value")
                    clear_btn = bind(gr.Button(t("rag.clear"), scale=1, elem_id="rag-clear"), "rag.clear", "value")
                chunks_panel = gr.HTML(chunks_html([], set(), rag.i18n, rag.i18n.lang), elem_id="rag-chunks")
    widgets = form.widgets
    made = locals()
    return ChatParts(**{f.name: made[f.name] for f in fields(ChatParts)})


def wire_chat(rag: Rag, cp: ChatParts, index_widget) -> None:
    forms, i18n, w = rag.forms, rag.i18n, cp.widgets

    def toggle_plain(on):
        return gr.update(visible=bool(on))

    cp.compare.change(toggle_plain, [cp.compare], [cp.bot_plain])

    # The endpoint's positional inputs are the page's API (a workshop test calls it): fusion comes last.
    def send(text, history_rag, history_plain, compare_on, index_, mode_, k_, dense_w, rerank_, model_, base_url_,
             key, temperature_, max_new_, prompt_, fusion_="zscore", lang_="en"):
        from lab.rag import chain
        from lab.rag.retrieve import retrieve
        from lab.rag.spec import GeneratorSpec, RetrievalSpec
        question = (text or "").strip()
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        user = {"role": "user", "content": question}
        history_rag = list(history_rag or []) + [user]
        history_plain = list(history_plain or []) + ([user] if compare_on else [])
        try:
            data = forms.chat_dict({"retrieval.mode": mode_, "retrieval.k": k_, "retrieval.dense_weight": dense_w,
                                    "retrieval.rerank_model": rerank_, "retrieval.fusion": fusion_ or "zscore",
                                    "generator.model": model_, "generator.base_url": base_url_,
                                    "generator.temperature": temperature_, "generator.max_new_tokens": max_new_,
                                    "generator.prompt": prompt_})
            settings = RetrievalSpec(**data["retrieval"])
            generator = GeneratorSpec(**data["generator"])
            hits = retrieve((index_ or "").strip(), question, settings)
            messages, hits = chain.fitted_messages(question, hits, generator)
        except (UserError, ValueError) as e:
            line = validation_error_line(e, "chat") if isinstance(e, ValidationError) else str(e).splitlines()[0]
            reply = {"role": "assistant", "content": f"⚠ {line}"}
            yield history_rag + [reply], history_plain, gr.skip(), [], ""
            return
        panel = chunks_html(hits, None, i18n, lang_)  # answering: nothing cited yet
        conversations = [messages] + ([chain.plain_messages(question)] if compare_on else [])
        answer = plain = ""
        yield history_rag + [{"role": "assistant", "content": "…"}], history_plain, panel, hits, ""
        for replies in chain.stream_many(generator, conversations, (key or "").strip() or None):
            answer = replies[0]
            plain = replies[1] if compare_on else ""
            yield (history_rag + [{"role": "assistant", "content": linked_answer(answer, hits, i18n, lang_)}],
                   history_plain + ([{"role": "assistant", "content": plain or "…"}] if compare_on else []),
                   gr.skip(), gr.skip(), "")
        cited = set(cited_numbers(answer, len(hits)))
        final_rag = history_rag + [{"role": "assistant", "content": linked_answer(answer, hits, i18n, lang_)}]
        # an empty answer reads "…" in both panes (as linked_answer shows it), never an empty bubble
        final_plain = history_plain + ([{"role": "assistant", "content": plain or "…"}] if compare_on else [])
        yield final_rag, final_plain, chunks_html(hits, cited, i18n, lang_), hits, ""

    chat_inputs = [cp.msg, cp.bot_rag, cp.bot_plain, cp.compare, index_widget, w["retrieval.mode"], w["retrieval.k"],
                   w["retrieval.dense_weight"], w["retrieval.rerank_model"], w["generator.model"],
                   w["generator.base_url"], cp.api_key, w["generator.temperature"], w["generator.max_new_tokens"],
                   w["generator.prompt"], w["retrieval.fusion"], rag.lang_state]
    chat_outputs = [cp.bot_rag, cp.bot_plain, cp.chunks_panel, cp.hits, cp.msg]
    cp.send_btn.click(send, chat_inputs, chat_outputs)
    cp.msg.submit(send, chat_inputs, chat_outputs)
    cp.clear_btn.click(lambda lang_: ([], [], chunks_html([], set(), i18n, lang_), []), [rag.lang_state],
                       [cp.bot_rag, cp.bot_plain, cp.chunks_panel, cp.hits])
