"""What users do next with descriptors: VAMP-2 scores (cross-validated by trajectory), backbone dihedrals as the
classical baseline, and plots.

VAMP-2 (variational approach for Markov processes): with mean-free instantaneous and time-lagged data X, Y,
C00 = XᵀX/N, C0t = XᵀY/N, Ctt = YᵀY/N and K = C00^{-1/2} C0t Ctt^{-1/2}, the score is 1 + Σ_{i≤k} σ_i(K)², the
1 counting the constant singular function. Inverse square roots drop eigenvalues below ε (regularisation).
"""
from typing import List, Optional, Sequence

import numpy as np


def _inv_sqrt(c: np.ndarray, epsilon: float) -> np.ndarray:
    """C^{-1/2} on the span of eigenvalues above ``epsilon``: (features × rank)."""
    values, vectors = np.linalg.eigh((c + c.T) / 2)
    keep = values > epsilon
    return vectors[:, keep] / np.sqrt(values[keep])


def _lagged_pairs(trajectories: Sequence[np.ndarray], lag: int):
    x = [np.asarray(t, dtype=float).reshape(len(t), -1) for t in trajectories]
    for t in x:
        if len(t) <= lag:
            raise ValueError(f"a trajectory of {len(t)} frames is too short for lag {lag}")
    return np.concatenate([t[:-lag] for t in x]), np.concatenate([t[lag:] for t in x])


def _covariances(x0: np.ndarray, xt: np.ndarray, mean0=None, meant=None):
    mean0 = x0.mean(0) if mean0 is None else mean0
    meant = xt.mean(0) if meant is None else meant
    a, b = x0 - mean0, xt - meant
    n = len(a)
    return a.T @ a / n, a.T @ b / n, b.T @ b / n, mean0, meant


class VAMP:
    """Fits the VAMP singular functions of features at one lag time."""

    def __init__(self, lag: int, dim: Optional[int] = None, epsilon: float = 1e-6):
        if lag < 1:
            raise ValueError("the lag time must be at least one frame")
        self.lag, self.dim, self.epsilon = int(lag), dim, float(epsilon)

    def fit(self, trajectories: Sequence[np.ndarray]) -> "VAMP":
        x0, xt = _lagged_pairs(trajectories, self.lag)
        c00, c0t, ctt, self.mean0, self.meant = _covariances(x0, xt)
        l0, lt = _inv_sqrt(c00, self.epsilon), _inv_sqrt(ctt, self.epsilon)
        u, s, vt = np.linalg.svd(l0.T @ c0t @ lt, full_matrices=False)
        k = len(s) if self.dim is None else min(self.dim, len(s))
        self.singular_values = s[:k]
        self.left = l0 @ u[:, :k]   # instantaneous singular functions (features × k)
        self.right = lt @ vt.T[:, :k]
        return self

    def score(self, trajectories: Optional[Sequence[np.ndarray]] = None) -> float:
        """VAMP-2 of the fitted model on ``trajectories`` (the training data if None)."""
        if trajectories is None:
            return 1.0 + float(np.sum(self.singular_values ** 2))
        x0, xt = _lagged_pairs(trajectories, self.lag)
        c00, c0t, ctt, _, _ = _covariances(x0, xt, self.mean0, self.meant)
        a, b = self.left.T @ c00 @ self.left, self.right.T @ ctt @ self.right
        k = self.left.T @ c0t @ self.right
        ia, ib = _inv_sqrt(a, self.epsilon), _inv_sqrt(b, self.epsilon)
        return 1.0 + float(np.linalg.norm(ia.T @ k @ ib) ** 2)

    def transform(self, trajectory: np.ndarray) -> np.ndarray:
        """Projection of frames onto the leading instantaneous singular functions."""
        x = np.asarray(trajectory, dtype=float).reshape(len(trajectory), -1)
        return (x - self.mean0) @ self.left


def vamp2_cross_validated(trajectories: Sequence[np.ndarray], lag: int, dim: Optional[int] = None,
                          epsilon: float = 1e-6) -> List[float]:
    """Leave-one-trajectory-out test scores: fit on the others, score on the one left out."""
    if len(trajectories) < 2:
        raise ValueError("cross-validation by trajectory needs at least two trajectories")
    scores = []
    for k in range(len(trajectories)):
        train = [t for j, t in enumerate(trajectories) if j != k]
        scores.append(VAMP(lag, dim, epsilon).fit(train).score([trajectories[k]]))
    return scores


def backbone_dihedral_features(trajectory) -> np.ndarray:
    """(frames, 4·n) features cos φ, sin φ, cos ψ, sin ψ of an ``mdtraj.Trajectory``'s backbone."""
    import mdtraj
    _, phi = mdtraj.compute_phi(trajectory)
    _, psi = mdtraj.compute_psi(trajectory)
    if phi.shape[1] == 0 or psi.shape[1] == 0:
        raise ValueError("the trajectory has no backbone φ/ψ dihedrals")
    return np.concatenate([np.cos(phi), np.sin(phi), np.cos(psi), np.sin(psi)], axis=1)


def plot_projection(projection: np.ndarray, colour: np.ndarray, path: str, title: str = "",
                    colour_label: str = "time (ps)") -> None:
    """Scatter of the first two projected coordinates, coloured (by time or state); saved to ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 4))
    points = ax.scatter(projection[:, 0], projection[:, 1], c=colour, s=3, cmap="viridis")
    fig.colorbar(points, ax=ax, label=colour_label)
    ax.set_xlabel("VAMP coordinate 1")
    ax.set_ylabel("VAMP coordinate 2")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_vamp2_against_lag(lags_ps: Sequence[float], scores: dict, path: str, title: str = "") -> None:
    """VAMP-2 (mean ± std over folds) against lag time, one line per feature set; saved to ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, values in scores.items():
        mean = [np.mean(v) for v in values]
        std = [np.std(v) for v in values]
        ax.errorbar(lags_ps, mean, yerr=std, marker="o", capsize=3, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("lag time (ps)")
    ax.set_ylabel("VAMP-2 (held-out trajectory)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------------------------
# Graph-aligned (SIPT) descriptors: do frames that the conformation graph joins lie close in descriptor space?
# Retrieval over the graph, k-NN classification of state labels, label consistency over a graph (neighbour lists
# of an openmmept.graphs graph, or the k-NN graph of embeddings); alanine dipeptide's Ramachandran basins as labels.
# ---------------------------------------------------------------------------------------------------------------

RAMACHANDRAN_BASIN_NAMES = ("β/PPII", "αR", "αL")

# Entries of a (rows × candidates) block computed at once: a block's float64 and int64 temporaries then take
# about a hundred MB however many queries and candidates there are.
_BLOCK_ENTRIES = 2_000_000


def _embeddings(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name} must be a (points × dimensions) array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} holds NaN or infinite values: remove or repair those rows first")
    return x


def _rows_per_block(columns: int) -> int:
    return max(1, _BLOCK_ENTRIES // max(1, columns))


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a_i − b_j|² for every pair, as |a|² + |b|² − 2 a·b (clipped at 0)."""
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0)


def _nearest(d: np.ndarray, k: int) -> np.ndarray:
    """Columns of the k smallest entries of each row of ``d``, by ascending value, equal values by column index.

    Linear in the row length: the k-th smallest value t is found by partition, all entries below t are taken and
    the entries equal to t fill up to k in column order.
    """
    rows = np.arange(len(d))
    t = np.partition(d, k - 1, axis=1)[:, k - 1]
    below = d < t[:, None]
    at = d == t[:, None]
    room = k - below.sum(1)
    chosen = below | (at & (np.cumsum(at, axis=1) <= room[:, None]))
    columns = np.nonzero(chosen)[1].reshape(len(d), k)  # ascending column order within each row
    order = np.argsort(d[rows[:, None], columns], axis=1, kind="stable")
    return np.take_along_axis(columns, order, axis=1)


def _lrap(relevant: np.ndarray, scores: np.ndarray, order: Optional[np.ndarray] = None) -> np.ndarray:
    """Label-ranking average precision of each row (NaN for a row with no relevant entry).

    Higher scores rank first. For each relevant j: rank_j = |{k : s_k ≥ s_j}| (a tie counts against j, as the
    maximum rank of the tied group) and L_j = |{k relevant : s_k ≥ s_j}|; the row's LRAP is the mean of
    L_j / rank_j over its relevant j. Averaged over rows that have a relevant entry, this is scikit-learn's
    ``label_ranking_average_precision_score`` (which instead scores a row with none as 1).
    An entry with score −∞ ranks after every finite one (that is how excluded candidates are left out).
    ``order``: each row's columns by descending score, when the caller has sorted already.
    """
    relevant = np.asarray(relevant, dtype=bool)
    scores = np.asarray(scores, dtype=float)
    if relevant.ndim != 2 or relevant.shape != scores.shape:
        raise ValueError(f"relevant {relevant.shape} and scores {scores.shape} must be arrays of the same 2-D shape")
    if order is None:
        order = np.argsort(-scores, axis=1, kind="stable")
    s = np.take_along_axis(scores, order, axis=1)
    r = np.take_along_axis(relevant, order, axis=1)
    n = s.shape[1]
    cum = np.cumsum(r, axis=1)
    # Last position of each group of equal scores: rank_j = that position + 1, L_j = relevant ones up to it.
    last = np.ones(s.shape, dtype=bool)
    last[:, :-1] = s[:, :-1] != s[:, 1:]
    position = np.where(last, np.arange(n)[None, :], n)
    end = np.minimum.accumulate(position[:, ::-1], axis=1)[:, ::-1]
    per_item = np.take_along_axis(cum, end, axis=1) / (end + 1.0)
    count = r.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (per_item * r).sum(1) / count, np.nan)


def retrieval_metrics(queries: np.ndarray, candidates: np.ndarray, relevant: np.ndarray, ks=(1, 5, 10),
                      metric: str = "euclidean", exclude: Optional[np.ndarray] = None) -> dict:
    """How well embeddings retrieve graph neighbours: each query ranks the candidates by similarity.

    ``queries`` (q × D) and ``candidates`` (c × D) are embeddings; ``relevant`` (q × c, bool) says candidate j is a
    graph neighbour of query i; ``exclude`` (q × c, bool) marks candidates left out of query i's ranking altogether
    (the query itself when queries and candidates are the same frames); an excluded candidate is never relevant.
    Scores s_j: −|x_i − y_j| for ``metric="euclidean"``, the cosine similarity x_i·y_j / (|x_i| |y_j|) for
    ``"cosine"``; higher ranks first. The ranking sorts by descending score, equal scores in candidate order
    (stable sort), and positions are 1-based. With R the relevant candidates of a query and n the ranked ones:

    - LRAP (scikit-learn's label-ranking average precision): mean over j ∈ R of L_j / rank_j, with
      rank_j = |{k : s_k ≥ s_j}| (ties count against j) and L_j = |{k ∈ R : s_k ≥ s_j}|.
    - AP (average precision): mean over j ∈ R of precision@pos_j, the fraction of the first pos_j ranked that are
      relevant, pos_j the position of j in the ranking.
    - nDCG (binary gains, full ranking): Σ_{j ∈ R} 1/log₂(pos_j + 1) divided by its ideal Σ_{p=1}^{|R|} 1/log₂(p + 1).
    - MRR: 1 / the position of the first relevant candidate.
    - P@k: the fraction of the first min(k, n) ranked candidates that are relevant.

    Each is computed per query and averaged over the queries with at least one relevant candidate; queries with
    none are skipped and counted. Returns {"LRAP", "AP", "nDCG", "MRR", "P@k" for each k in ``ks``, "queries":
    the number scored, "skipped": the number skipped}. Queries are processed in blocks, so memory stays at a few
    hundred MB for thousands of queries against tens of thousands of candidates (beyond ``relevant`` itself).
    """
    x = _embeddings(queries, "queries")
    y = _embeddings(candidates, "candidates")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"queries have {x.shape[1]} dimensions but candidates {y.shape[1]}: "
                         "embed both with the same model")
    if metric not in ("euclidean", "cosine"):
        raise ValueError(f"metric {metric!r} is not known: use 'euclidean' or 'cosine'")
    relevant = np.asarray(relevant, dtype=bool)
    if relevant.shape != (len(x), len(y)):
        raise ValueError(f"relevant has shape {relevant.shape}, but there are {len(x)} queries and {len(y)} "
                         f"candidates: pass a ({len(x)}, {len(y)}) boolean array")
    if exclude is not None:
        exclude = np.asarray(exclude, dtype=bool)
        if exclude.shape != relevant.shape:
            raise ValueError(f"exclude has shape {exclude.shape}, but relevant has {relevant.shape}: "
                             "pass one flag per (query, candidate) pair")
    ks = [int(k) for k in ks]
    if any(k < 1 for k in ks):
        raise ValueError(f"ks {ks} must all be at least 1")
    if metric == "cosine":
        for name, z in (("queries", x), ("candidates", y)):
            norms = np.linalg.norm(z, axis=1)
            if np.any(norms == 0):
                raise ValueError(f"{name} row {int(np.argmax(norms == 0))} is the zero vector, which has no cosine "
                                 "similarity: use metric='euclidean' or drop it")
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        y = y / np.linalg.norm(y, axis=1, keepdims=True)

    c = len(y)
    position = np.arange(1, c + 1, dtype=float)
    discount = 1.0 / np.log2(position + 1.0)
    ideal = np.cumsum(discount)
    sums = {name: 0.0 for name in ["LRAP", "AP", "nDCG", "MRR"] + [f"P@{k}" for k in ks]}
    scored = skipped = 0
    block = _rows_per_block(c)
    for start in range(0, len(x), block):
        xb = x[start:start + block]
        # Ranking by −|x − y|² is ranking by −|x − y|.
        s = xb @ y.T if metric == "cosine" else -_squared_distances(xb, y)
        rel = relevant[start:start + block]
        if exclude is not None:
            ex = exclude[start:start + block]
            s[ex] = -np.inf
            rel = rel & ~ex
            ranked = c - ex.sum(1)
        else:
            ranked = np.full(len(s), c)
        count = rel.sum(1)
        keep = count > 0
        skipped += int((~keep).sum())
        if not keep.any():
            continue
        s, rel, count, ranked = s[keep], rel[keep], count[keep], ranked[keep]
        scored += len(s)
        order = np.argsort(-s, axis=1, kind="stable")
        sums["LRAP"] += float(_lrap(rel, s, order).sum())
        r = np.take_along_axis(rel, order, axis=1)
        del order, s
        cum = np.cumsum(r, axis=1)
        sums["AP"] += float((((cum / position) * r).sum(1) / count).sum())
        sums["nDCG"] += float(((r * discount).sum(1) / ideal[count - 1]).sum())
        sums["MRR"] += float((1.0 / (np.argmax(r, axis=1) + 1.0)).sum())
        rows = np.arange(len(r))
        for k in ks:
            top = np.minimum(k, ranked)
            sums[f"P@{k}"] += float((cum[rows, top - 1] / top).sum())
    if scored == 0:
        raise ValueError(f"none of the {len(x)} queries has a relevant candidate (after exclude): "
                         "check that relevant marks graph neighbours among the candidates")
    result = {name: value / scored for name, value in sums.items()}
    result["queries"], result["skipped"] = scored, skipped
    return result


def _labels(labels, n: int, name: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"{name} has shape {labels.shape}, but there are {n} points: pass one label per point")
    return labels


def knn_accuracy(train: np.ndarray, train_labels, test: np.ndarray, test_labels, k: int = 5) -> float:
    """Fraction of test points whose label is the majority label of their k nearest training points (Euclidean).

    Neighbours at equal distance are taken in training order; a tie in the vote goes to the tied label that
    occurs nearest (first in the neighbour list).
    """
    a = _embeddings(train, "train")
    b = _embeddings(test, "test")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"train has {a.shape[1]} dimensions but test {b.shape[1]}: embed both with the same model")
    ya = _labels(train_labels, len(a), "train_labels")
    yb = _labels(test_labels, len(b), "test_labels")
    if not 1 <= k <= len(a):
        raise ValueError(f"k = {k} must lie between 1 and the {len(a)} training points")
    if len(b) == 0:
        raise ValueError("test is empty: pass at least one test point")
    correct = 0
    block = _rows_per_block(len(a))
    for start in range(0, len(b), block):
        bb = b[start:start + block]
        votes = ya[_nearest(_squared_distances(bb, a), k)]  # (rows × k), nearest first
        # count[i, p]: how many of row i's k votes equal vote p; the first p with the most wins.
        count = (votes[:, :, None] == votes[:, None, :]).sum(2)
        winner = votes[np.arange(len(votes)), np.argmax(count, axis=1)]
        correct += int((winner == yb[start:start + len(bb)]).sum())
    return correct / len(b)


def knn_graph(embeddings: np.ndarray, k: int) -> List[np.ndarray]:
    """The k nearest other points (Euclidean) of each point: one index array each, nearest first, equal distances
    in index order. A point is never its own neighbour, even when another point coincides with it."""
    x = _embeddings(embeddings, "embeddings")
    if not 1 <= k < len(x):
        raise ValueError(f"k = {k} must lie between 1 and {len(x) - 1} (the other points of {len(x)})")
    neighbours: List[np.ndarray] = []
    block = _rows_per_block(len(x))
    for start in range(0, len(x), block):
        d = _squared_distances(x[start:start + block], x)
        rows = np.arange(len(d))
        d[rows, start + rows] = np.inf
        neighbours.extend(_nearest(d, k))
    return neighbours


def local_consistency(labels, neighbours: Sequence[np.ndarray]) -> float:
    """How consistent labels are over a graph: the mean, over nodes with at least one neighbour, of the fraction
    of a node's neighbours that share its label. 1 when every edge joins equal labels.

    ``neighbours[i]`` holds the neighbours of node i (from :func:`graph_neighbours` or :func:`knn_graph`).
    """
    if len(neighbours) == 0:
        raise ValueError("the graph has no nodes")
    labels = _labels(labels, len(neighbours), "labels")
    total, nodes = 0.0, 0
    for i, nb in enumerate(neighbours):
        nb = np.asarray(nb, dtype=np.int64).reshape(-1)
        if len(nb) == 0:
            continue
        if nb.min() < 0 or nb.max() >= len(labels):
            bad = int(nb[(nb < 0) | (nb >= len(labels))][0])
            raise ValueError(f"node {i} has neighbour {bad}, but there are {len(labels)} nodes (0–{len(labels) - 1})")
        total += float(np.mean(labels[nb] == labels[i]))
        nodes += 1
    if nodes == 0:
        raise ValueError("no node has a neighbour: the graph has no edges")
    return total / nodes


def graph_neighbours(num_nodes: int, edges: np.ndarray) -> List[np.ndarray]:
    """Neighbours of each node of an undirected graph given as an (E × 2) array of edges (i, j).

    Each edge joins both ways; repeated edges count once; each node's neighbours are sorted ascending. ValueError
    naming the first edge with a node outside [0, num_nodes) or joining a node to itself.
    """
    num_nodes = int(num_nodes)
    if num_nodes < 0:
        raise ValueError(f"num_nodes = {num_nodes} must not be negative")
    e = np.asarray(edges)
    if e.size == 0:
        e = e.reshape(0, 2)
    if e.ndim != 2 or e.shape[1] != 2:
        raise ValueError(f"edges must be an (E × 2) array of node pairs, got shape {e.shape}")
    if not np.issubdtype(e.dtype, np.integer):
        whole = np.issubdtype(e.dtype, np.floating) and np.all(np.isfinite(e)) and np.all(e == np.round(e))
        if not whole:
            raise ValueError(f"edges must hold integer node indices, got {e.dtype} values")
    e = e.astype(np.int64)
    bad = np.nonzero((e < 0).any(1) | (e >= num_nodes).any(1) | (e[:, 0] == e[:, 1]))[0]
    if len(bad):
        i, j = (int(v) for v in e[bad[0]])
        if i == j and 0 <= i < num_nodes:
            raise ValueError(f"edge {int(bad[0])} ({i}, {j}) joins node {i} to itself: drop self-loops")
        node = i if not 0 <= i < num_nodes else j
        raise ValueError(f"edge {int(bad[0])} ({i}, {j}) names node {node}, but the graph has {num_nodes} nodes "
                         f"(0–{num_nodes - 1})")
    both = np.unique(np.concatenate([e, e[:, ::-1]]), axis=0)  # sorted by node, then neighbour; repeats merged
    counts = np.bincount(both[:, 0], minlength=num_nodes)
    return np.split(both[:, 1], np.cumsum(counts)[:-1]) if num_nodes else []


def ramachandran_basins(phi: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """Alanine dipeptide's Ramachandran basin of each (φ, ψ), in radians (any period; wrapped to [−180°, 180°)).

    0 = β/PPII: φ < 0 and (ψ ≥ 50° or ψ ≤ −120°); 1 = αR: φ < 0 and −120° < ψ < 50°; 2 = αL: φ ≥ 0.
    Every point falls in one basin; names in :data:`RAMACHANDRAN_BASIN_NAMES`.
    """
    phi, psi = np.broadcast_arrays(np.asarray(phi, dtype=float), np.asarray(psi, dtype=float))
    if not (np.all(np.isfinite(phi)) and np.all(np.isfinite(psi))):
        raise ValueError("phi or psi holds NaN or infinite values: pass dihedral angles in radians")
    phi = np.degrees((phi + np.pi) % (2 * np.pi) - np.pi)
    psi = np.degrees((psi + np.pi) % (2 * np.pi) - np.pi)
    alpha_r = (psi > -120.0) & (psi < 50.0)
    return np.where(phi >= 0.0, 2, np.where(alpha_r, 1, 0)).astype(np.int64)


def plot_embedding(points2d: np.ndarray, labels, names, path, title: str = "") -> None:
    """Scatter of 2-D points coloured by a categorical label (``labels[i]`` indexes ``names``), with a legend;
    saved to ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    points = np.asarray(points2d, dtype=float)
    if points.ndim != 2 or points.shape[1] < 2:
        raise ValueError(f"points2d must be a (points × 2) array, got shape {points.shape}")
    labels = _labels(labels, len(points), "labels")
    names = list(names)
    if not np.issubdtype(labels.dtype, np.integer) or (len(labels) and (labels.min() < 0
                                                                       or labels.max() >= len(names))):
        raise ValueError(f"labels must be integers indexing the {len(names)} names (0–{len(names) - 1}): "
                         "map each category to its position in names")
    colours = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    fig, ax = plt.subplots(figsize=(5, 4))
    for label, name in enumerate(names):
        at = labels == label
        ax.scatter(points[at, 0], points[at, 1], s=3, color=colours(label % colours.N),
                   label=f"{name} ({int(at.sum())})")
    ax.set_xlabel("embedding coordinate 1")
    ax.set_ylabel("embedding coordinate 2")
    ax.set_title(title)
    ax.legend(markerscale=4)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
