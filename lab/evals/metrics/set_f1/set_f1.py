"""Set F1 (llm-jp-eval's metric for answers that are a set of items, e.g. named entities): split
prediction and reference into items (one per line, or separated by 、 , ; ・), normalise each,
and take the F1 of the two sets; the mean over samples."""
import datasets
import evaluate
from lab.evals.metrics.textnorm import split_set

_DESCRIPTION = "Mean F1 between the set of items in the prediction and in the reference."
_KWARGS = """
Args:
    predictions: list of str (items separated by newlines or 、 , ; ・)
    references: list of str
Returns:
    set_f1: float in [0, 1]
"""


def set_f1(prediction: str, reference: str) -> float:
    pred, ref = split_set(prediction), split_set(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = len(pred & ref)
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class SetF1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation="", inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}))

    def _compute(self, predictions, references):
        if not predictions:
            return {"set_f1": 0.0}
        scores = [set_f1(p, r) for p, r in zip(predictions, references)]
        return {"set_f1": sum(scores) / len(scores)}
