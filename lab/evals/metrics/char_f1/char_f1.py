"""Character F1 (as JSQuAD scores Japanese answers): the F1 of the multiset of characters shared by
prediction and reference after normalisation; the mean over samples."""
import collections
import datasets
import evaluate
from lab.evals.metrics.textnorm import normalize

_DESCRIPTION = "Mean character-level F1 between prediction and reference (bag of characters after normalisation)."
_KWARGS = """
Args:
    predictions: list of str
    references: list of str
Returns:
    char_f1: float in [0, 1]
"""


def char_f1(prediction: str, reference: str) -> float:
    pred, ref = normalize(prediction), normalize(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class CharF1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation="", inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}))

    def _compute(self, predictions, references):
        if not predictions:
            return {"char_f1": 0.0}
        scores = [char_f1(p, r) for p, r in zip(predictions, references)]
        return {"char_f1": sum(scores) / len(scores)}
