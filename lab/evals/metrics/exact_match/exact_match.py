"""Exact match after normalisation (NFKC, lower case, no whitespace or punctuation): 1 if the
prediction and the reference are the same answer, else 0; the mean over samples."""
import datasets
import evaluate
from lab.evals.metrics.textnorm import normalize

_DESCRIPTION = "Share of predictions equal to their reference after NFKC, lower-casing and removing whitespace and punctuation."
_KWARGS = """
Args:
    predictions: list of str
    references: list of str
Returns:
    exact_match: float in [0, 1]
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class ExactMatch(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation="", inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}))

    def _compute(self, predictions, references):
        if not predictions:
            return {"exact_match": 0.0}
        hits = [float(normalize(p) == normalize(r)) for p, r in zip(predictions, references)]
        return {"exact_match": sum(hits) / len(hits)}
