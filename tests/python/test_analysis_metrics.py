"""Evaluation metrics for graph-aligned (SIPT) descriptors: retrieval of graph neighbours, k-NN accuracy, label
consistency over a graph, neighbour lists, Ramachandran basins and the embedding plot. Expected values are worked out
by hand in the comments."""
import math

import numpy as np
import pytest

from openmmept import analysis

# Retrieval example (1-D embeddings, Euclidean). Candidates c0..c4 at 0, 1, −1, 2, 4.
CANDIDATES = np.array([[0.0], [1.0], [-1.0], [2.0], [4.0]])
# q0 at 0: distances c0 0, c1 1, c2 1, c3 2, c4 4 (c1 and c2 tie); relevant {c1, c3}.
# q1 at 3: distances c0 3, c1 2, c2 4, c3 1, c4 1 (c3 and c4 tie); relevant {c0, c4}.
# q2 at 10: no relevant candidate, so it is skipped.
QUERIES = np.array([[0.0], [3.0], [10.0]])
RELEVANT = np.array([[0, 1, 0, 1, 0],
                     [1, 0, 0, 0, 1],
                     [0, 0, 0, 0, 0]], dtype=bool)
EXCLUDE_C3_FOR_Q1 = np.zeros((3, 5), dtype=bool)
EXCLUDE_C3_FOR_Q1[1, 3] = True

L3, L5 = math.log2(3), math.log2(5)


@pytest.mark.parametrize("block_entries", [5, 10 ** 6])  # one query per block, and all at once
def test_retrieval_by_hand(monkeypatch, block_entries):
    monkeypatch.setattr(analysis, "_BLOCK_ENTRIES", block_entries)
    result = analysis.retrieval_metrics(QUERIES, CANDIDATES, RELEVANT, ks=(1, 3, 10))
    # q0 ranking (ties in index order): c0 c1 c2 c3 c4, relevant at positions 2 and 4.
    #   LRAP: c1: rank = |{d ≤ 1}| = 3 (the tie with c2 counts against it), L = 1 → 1/3;
    #         c3: rank = 4, L = 2 → 1/2.  LRAP = (1/3 + 1/2)/2 = 5/12 (it would be 1/2 with rank 2 for c1).
    #   AP: (1/2 + 2/4)/2 = 1/2.  nDCG = (1/log2 3 + 1/log2 5) / (1 + 1/log2 3).  MRR = 1/2.
    #   P@1 = 0, P@3 = 1/3 (c0 c1 c2), P@10 = all 5: 2/5.
    # q1 ranking: c3 c4 c1 c0 c2, relevant at positions 2 and 4.
    #   LRAP: c4: rank = |{d ≤ 1}| = 2, L = 1 → 1/2; c0: rank = 4, L = 2 → 1/2.  LRAP = 1/2.
    #   AP = (1/2 + 2/4)/2 = 1/2.  nDCG as for q0.  MRR = 1/2.  P@1 = 0, P@3 = 1/3, P@10 = 2/5.
    assert result["queries"] == 2 and result["skipped"] == 1
    assert result["LRAP"] == pytest.approx((5 / 12 + 1 / 2) / 2)  # 11/24
    assert result["AP"] == pytest.approx(1 / 2)
    assert result["nDCG"] == pytest.approx((1 / L3 + 1 / L5) / (1 + 1 / L3))
    assert result["MRR"] == pytest.approx(1 / 2)
    assert result["P@1"] == pytest.approx(0.0)
    assert result["P@3"] == pytest.approx(1 / 3)
    assert result["P@10"] == pytest.approx(2 / 5)
    assert set(result) == {"LRAP", "AP", "nDCG", "MRR", "P@1", "P@3", "P@10", "queries", "skipped"}


@pytest.mark.parametrize("block_entries", [5, 10 ** 6])
def test_retrieval_exclude_removes_a_candidate(monkeypatch, block_entries):
    monkeypatch.setattr(analysis, "_BLOCK_ENTRIES", block_entries)
    result = analysis.retrieval_metrics(QUERIES, CANDIDATES, RELEVANT, ks=(1, 3, 10), exclude=EXCLUDE_C3_FOR_Q1)
    # q0 as before: LRAP 5/12, AP 1/2, nDCG (1/log2 3 + 1/log2 5)/(1 + 1/log2 3), MRR 1/2, P@1 0, P@3 1/3, P@10 2/5.
    # q1 without c3 ranks c4 c1 c0 c2 (4 candidates), relevant at positions 1 and 3.
    #   LRAP: c4: rank 1, L 1 → 1; c0: rank 3, L 2 → 2/3.  LRAP = 5/6.  AP = (1 + 2/3)/2 = 5/6.
    #   nDCG = (1/log2 2 + 1/log2 4) / (1 + 1/log2 3) = (3/2)/(1 + 1/log2 3).  MRR = 1.
    #   P@1 = 1, P@3 = 2/3, P@10 = over the 4 ranked: 2/4.
    assert result["queries"] == 2 and result["skipped"] == 1
    assert result["LRAP"] == pytest.approx((5 / 12 + 5 / 6) / 2)  # 5/8
    assert result["AP"] == pytest.approx((1 / 2 + 5 / 6) / 2)  # 2/3
    assert result["nDCG"] == pytest.approx(((1 / L3 + 1 / L5) + 3 / 2) / (1 + 1 / L3) / 2)
    assert result["MRR"] == pytest.approx((1 / 2 + 1) / 2)
    assert result["P@1"] == pytest.approx((0 + 1) / 2)
    assert result["P@3"] == pytest.approx((1 / 3 + 2 / 3) / 2)
    assert result["P@10"] == pytest.approx((2 / 5 + 2 / 4) / 2)  # 9/20


def test_retrieval_excluded_relevant_candidate_does_not_count():
    # One query at 0, candidates at 0 and 1, both relevant; excluding c0 leaves c1 alone at position 1.
    q, c = np.array([[0.0]]), np.array([[0.0], [1.0]])
    rel = np.array([[True, True]])
    result = analysis.retrieval_metrics(q, c, rel, ks=(1, 2), exclude=np.array([[True, False]]))
    assert result["queries"] == 1
    assert result["LRAP"] == pytest.approx(1.0)
    assert result["P@2"] == pytest.approx(1.0)  # over the one ranked candidate, not 1/2
    with pytest.raises(ValueError, match="none of the 1 queries has a relevant candidate"):
        analysis.retrieval_metrics(q, c, rel, exclude=np.array([[True, True]]))


def test_retrieval_cosine_ranks_by_angle():
    # Query (1, 0); candidates c0 (1, 0), c1 (0, 1), c2 (1, 1), c3 (−1, 0), c4 (3, 0); relevant {c1, c4}.
    # Cosine: c0 1, c1 0, c2 1/√2, c3 −1, c4 1 → ranking c0 c4 c2 c1 c3 (c0, c4 tie).
    #   LRAP: c4: rank 2, L 1 → 1/2; c1: rank 4, L 2 → 1/2 → 1/2.  MRR = 1/2.  P@2 = 1/2.
    # Euclidean (squared): c0 0, c1 2, c2 1, c3 4, c4 4 → ranking c0 c2 c1 c3 c4.
    #   LRAP: c1: rank 3, L 1 → 1/3; c4: rank 5 (tie with c3), L 2 → 2/5 → 11/30.  MRR = 1/3.  P@2 = 0.
    q = np.array([[1.0, 0.0]])
    c = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0], [3.0, 0.0]])
    rel = np.array([[False, True, False, False, True]])
    cosine = analysis.retrieval_metrics(q, c, rel, ks=(2,), metric="cosine")
    assert cosine["LRAP"] == pytest.approx(1 / 2)
    assert cosine["MRR"] == pytest.approx(1 / 2)
    assert cosine["P@2"] == pytest.approx(1 / 2)
    euclidean = analysis.retrieval_metrics(q, c, rel, ks=(2,), metric="euclidean")
    assert euclidean["LRAP"] == pytest.approx((1 / 3 + 2 / 5) / 2)
    assert euclidean["MRR"] == pytest.approx(1 / 3)
    assert euclidean["P@2"] == pytest.approx(0.0)


def test_lrap_matches_the_scikit_learn_example():
    # scikit-learn's label_ranking_average_precision_score documentation: 0.416…
    # Row 0: the relevant entry scores 0.75, beaten by 1 → rank 2, L 1 → 1/2.  Row 1: 0.1 is last → 1/3.
    y_true = np.array([[1, 0, 0], [0, 0, 1]], dtype=bool)
    y_score = np.array([[0.75, 0.5, 1.0], [1.0, 0.2, 0.1]])
    per_row = analysis._lrap(y_true, y_score)
    assert per_row == pytest.approx([1 / 2, 1 / 3])
    assert per_row.mean() == pytest.approx(5 / 12)


def test_lrap_ties_take_the_maximum_rank_and_empty_rows_are_nan():
    # All three tie: each relevant j has rank 3 and L 2 → 2/3.  A row with nothing relevant has no LRAP.
    per_row = analysis._lrap(np.array([[1, 1, 0], [0, 0, 0]], dtype=bool), np.array([[1.0, 1.0, 1.0], [3, 2, 1]]))
    assert per_row[0] == pytest.approx(2 / 3)
    assert np.isnan(per_row[1])


def test_retrieval_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"relevant has shape \(2, 5\).*3 queries and 5 candidates"):
        analysis.retrieval_metrics(QUERIES, CANDIDATES, RELEVANT[:2])
    with pytest.raises(ValueError, match="metric 'manhattan' is not known"):
        analysis.retrieval_metrics(QUERIES, CANDIDATES, RELEVANT, metric="manhattan")
    with pytest.raises(ValueError, match="queries row 0 is the zero vector"):
        analysis.retrieval_metrics(QUERIES, CANDIDATES, RELEVANT, metric="cosine")
    with pytest.raises(ValueError, match="queries have 2 dimensions but candidates 1"):
        analysis.retrieval_metrics(np.ones((3, 2)), CANDIDATES, RELEVANT)


TRAIN = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [10.0, 10.0], [10.0, 11.0], [11.0, 10.0]])
TRAIN_LABELS = np.array([0, 0, 0, 1, 1, 1])
TEST = np.array([[0.5, 0.5], [10.5, 10.5], [-1.0, 0.0]])


def test_knn_accuracy_on_separated_clusters():
    assert analysis.knn_accuracy(TRAIN, TRAIN_LABELS, TEST, [0, 1, 0], k=3) == 1.0
    assert analysis.knn_accuracy(TRAIN, TRAIN_LABELS, TEST, [1, 0, 1], k=3) == 0.0
    assert analysis.knn_accuracy(TRAIN, TRAIN_LABELS, TEST, [0, 0, 0], k=3) == pytest.approx(2 / 3)


def test_knn_accuracy_ties_and_majority():
    train, labels = np.array([[0.0], [1.0], [1.5]]), np.array(["a", "b", "b"])
    # k = 2, test at 0.4: neighbours a (0.4), b (0.6): one vote each → the nearer label, a.
    #        test at 0.6: neighbours b (0.4), a (0.6) → b.  (Breaking ties by label order would give a, a: 1/2.)
    assert analysis.knn_accuracy(train, labels, [[0.4], [0.6]], ["a", "b"], k=2) == 1.0
    # k = 3, test at 0.1: a (0.1), b (0.9), b (1.4): the majority b wins over the nearest a.
    assert analysis.knn_accuracy(train, labels, [[0.1]], ["b"], k=3) == 1.0
    with pytest.raises(ValueError, match="k = 4 must lie between 1 and the 3 training points"):
        analysis.knn_accuracy(train, labels, [[0.1]], ["b"], k=4)


def test_knn_graph_excludes_self_and_breaks_ties_by_index():
    # Points 0, 1, −1, 5.  Point 0: 1 and 2 both at distance 1 → index order.  Point 3 (at 5): 1 (4), 0 (5).
    points = np.array([[0.0], [1.0], [-1.0], [5.0]])
    assert [list(n) for n in analysis.knn_graph(points, 1)] == [[1], [0], [0], [1]]
    assert [list(n) for n in analysis.knn_graph(points, 2)] == [[1, 2], [0, 2], [0, 1], [1, 0]]
    # A duplicate point is the other's neighbour, never its own.
    assert [list(n) for n in analysis.knn_graph(np.array([[0.0], [0.0], [3.0]]), 1)] == [[1], [0], [0]]
    with pytest.raises(ValueError, match="k = 4 must lie between 1 and 3"):
        analysis.knn_graph(points, 4)


def test_local_consistency_of_a_path_graph():
    # Path 0-1-2-3 labelled a a b b, and an isolated node 4 (no neighbours: not counted):
    # node 0: {1} → 1; node 1: {0, 2} → 1/2; node 2: {1, 3} → 1/2; node 3: {2} → 1.  Mean (1 + 1/2 + 1/2 + 1)/4.
    neighbours = analysis.graph_neighbours(5, np.array([[0, 1], [1, 2], [2, 3]]))
    labels = ["a", "a", "b", "b", "c"]
    assert analysis.local_consistency(labels, neighbours) == pytest.approx(3 / 4)
    # On the k = 1 graph of embeddings 0, 1, 10, 12, 30 (neighbours 1, 0, 3, 2, 3): nodes 0-3 agree, 4 (c) does not.
    knn = analysis.knn_graph(np.array([[0.0], [1.0], [10.0], [12.0], [30.0]]), 1)
    assert analysis.local_consistency(labels, knn) == pytest.approx(4 / 5)
    with pytest.raises(ValueError, match="no node has a neighbour"):
        analysis.local_consistency(["a", "b"], [np.array([], int), np.array([], int)])


def test_graph_neighbours_merges_both_directions():
    edges = np.array([[1, 0], [0, 1], [2, 1], [3, 1], [1, 3]])
    neighbours = analysis.graph_neighbours(5, edges)
    assert [list(n) for n in neighbours] == [[1], [0, 2, 3], [1], [1], []]
    with pytest.raises(ValueError, match=r"edge 1 \(1, 5\) names node 5, but the graph has 5 nodes"):
        analysis.graph_neighbours(5, np.array([[0, 1], [1, 5]]))
    with pytest.raises(ValueError, match=r"edge 0 \(-1, 2\) names node -1"):
        analysis.graph_neighbours(5, np.array([[-1, 2]]))
    with pytest.raises(ValueError, match=r"edge 2 \(2, 2\) joins node 2 to itself"):
        analysis.graph_neighbours(5, np.array([[0, 1], [1, 2], [2, 2]]))


def test_ramachandran_basins():
    phi_psi = [(-60, -45, 1),    # αR
               (-120, 130, 0),   # β
               (-75, 160, 0),    # PPII
               (-150, -170, 0),  # β (ψ ≤ −120°)
               (60, 45, 2),      # αL
               (120, -150, 2),   # φ > 0: αL whatever ψ
               (-60, 49.9, 1), (-60, 50.1, 0),        # the ψ = 50° border
               (-60, -119.9, 1), (-60, -120.1, 0),    # the ψ = −120° border
               (-0.1, 0, 1), (0.1, 0, 2),             # the φ = 0 border
               (300, -45, 1), (-60, 315, 1)]          # 300° is −60°, 315° is −45°
    phi = np.radians([p[0] for p in phi_psi])
    psi = np.radians([p[1] for p in phi_psi])
    assert analysis.ramachandran_basins(phi, psi).tolist() == [p[2] for p in phi_psi]
    assert analysis.RAMACHANDRAN_BASIN_NAMES == ("β/PPII", "αR", "αL")


def test_plot_embedding_writes_a_png(tmp_path):
    rng = np.random.default_rng(1)
    points = rng.normal(size=(30, 2))
    labels = np.arange(30) % 3
    path = tmp_path / "embedding.png"
    analysis.plot_embedding(points, labels, analysis.RAMACHANDRAN_BASIN_NAMES, str(path), title="test")
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="labels must be integers indexing the 3 names"):
        analysis.plot_embedding(points, labels + 1, analysis.RAMACHANDRAN_BASIN_NAMES, str(path))
