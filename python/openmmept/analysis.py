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
