"""The RAG evaluation's chart lives in lab/rag/charts.py: the tab draws it live and the HTML report of
a rag_eval run draws the same figure, per question, in the report's language."""
import json

from lab.rag.charts import JUDGED_SERIES, PLOT_TITLES, RETRIEVAL_SERIES, eval_figure
from lab.rag.spec import RagEvalSpec
from lab.report import render_report
from lab.runs import RunStore


def test_retrieval_left_judged_views_right_and_axes_before_any_score():
    empty = eval_figure({}, "en")
    assert [a.text for a in empty.layout.annotations] == list(PLOT_TITLES["en"])
    assert len(empty.data) == 2 and all(len(t.x) == 0 for t in empty.data)  # both panels drawn, nothing yet
    fig = eval_figure({"recall_at_k": [(1, 1.0), (2, 0.0)], "groundedness": [(1, 0.8)], "loss": [(1, 3.0)]}, "ja")
    by_name = {t.name: t for t in fig.data if t.name}
    assert set(by_name) == {"recall_at_k", "groundedness"}  # only the RAG series, whatever else was logged
    assert by_name["recall_at_k"].xaxis == "x" and by_name["groundedness"].xaxis == "x2"
    assert list(by_name["recall_at_k"].y) == [1.0, 0.0]
    assert fig.layout.xaxis.title.text == "質問" and set(RETRIEVAL_SERIES).isdisjoint(JUDGED_SERIES)


def test_the_report_of_a_rag_eval_run_draws_the_tabs_chart(workspace):
    run = RunStore().create(RagEvalSpec())
    for n, (recall, grounded) in enumerate([(1.0, 0.9), (0.0, 0.4)], start=1):
        run.events.emit("metric", step=n, recall_at_k=recall, mrr=recall, groundedness=grounded)
    run.artifacts.mkdir(parents=True, exist_ok=True)
    (run.artifacts / "summary.json").write_text(json.dumps({"recall_at_k": 0.5}), encoding="utf-8")
    for lang in ("en", "ja"):
        page = render_report(run, lang)
        title = json.dumps(PLOT_TITLES[lang][1])[1:-1]  # as plotly writes it into the page
        assert PLOT_TITLES[lang][1] in page or title in page, lang
    assert PLOT_TITLES["en"][1] not in render_report(RunStore().create(RagEvalSpec()), "en")  # no scores: no chart
