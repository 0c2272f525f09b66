"""The inspection as HTML (the SFT/DPO tabs' "Inspect data" panel and any report): each token a
span, trained ones green and underlined, the rest grey; counts and a cut mark per sequence.
Token texts are escaped: a sample is data a participant wrote."""
from __future__ import annotations

import html

STYLE = ("<style>.lab-tok{white-space:pre-wrap;font-family:monospace;font-size:13px;line-height:1.7}"
         ".lab-tok .t{background:#d7f5dd;color:#0b5d1e;text-decoration:underline}"
         ".lab-tok .n{color:#777}.lab-tok .sep{border-left:1px solid #ccc;margin:0 1px}</style>")
WORDS = {"en": ("sample", "tokens trained of", "cut at max_length", "trained", "not trained", "chosen", "rejected"),
         "ja": ("サンプル", "トークンを学習 / 全", "max_length で切り詰め", "学習する", "学習しない", "選好（chosen）", "非選好（rejected）")}


def _sequence(rec: dict, words: tuple) -> str:
    spans = "".join(f"<span class='{'t' if t['trained'] else 'n'}' title='{t['id']}'>{html.escape(t['text'])}</span>"
                    for t in rec["tokens"])
    cut = f" · <b class='lab-error'>{words[2]}</b>" if rec["truncated"] else ""
    return (f"<div data-trained='{rec['trained_tokens']}' data-total='{rec['total_tokens']}' "
            f"data-truncated='{int(rec['truncated'])}'><small>{rec['trained_tokens']} {words[1]} {rec['total_tokens']}"
            f"{cut}</small><div class='lab-tok'>{spans}</div></div>")


def inspection_html(result: dict, lang: str = "en") -> str:
    words = WORDS["ja" if lang == "ja" else "en"]
    legend = f"<span class='lab-tok'><span class='t'>{words[3]}</span> <span class='n'>{words[4]}</span></span>"
    parts = [STYLE, f"<div id='inspect-result' data-samples='{len(result['samples'])}'>{legend}"]
    for i, s in enumerate(result["samples"], 1):
        parts.append(f"<h4>{words[0]} {i}</h4>")
        if "chosen" in s:
            parts.append(f"<b>{words[5]}</b>{_sequence(s['chosen'], words)}<b>{words[6]}</b>{_sequence(s['rejected'], words)}")
        else:
            parts.append(_sequence(s, words))
    parts.append("</div>")
    return "".join(parts)
