"""Graphs over conformations for structure-inducing finetuning (``ept finetune --objective sipt``): which frames
belong together. The builders are the library's own (the ones ``--graph`` uses), so a graph made here is the graph
the trainer sees. Nodes are frames, numbered trajectory by trajectory, frame by frame.

    graph = openmmept.graphs.time_lag_graph([len(t) for t in trajectories], tau=10)
    graph = openmmept.graphs.rmsd_graph(mdtraj.load("run0.dcd", top="top.pdb"), radius=0.05, atoms=heavy)  # nm
    graph.write("graph.edges")       # what `ept finetune --graph edges:graph.edges` reads
"""
import os
from typing import List, Optional, Sequence

import numpy as np

from . import binding


class ConformationGraph:
    """An undirected graph over ``num_nodes`` conformations: its edges (``edges``, (E, 2), i < j), connected
    components (``components``, one number per node) and how it was built (``description``)."""

    def __init__(self, graph: "binding.ConformationGraph"):
        self._graph = graph
        self.num_nodes = int(graph.num_nodes())
        self.description = graph.description()
        self.edges = np.array(graph.flat_edges(), dtype=np.int64).reshape(-1, 2)
        self.components = np.array(graph.components(), dtype=np.int64)
        self.num_components = int(graph.num_components())

    @classmethod
    def from_edges(cls, num_nodes: int, edges, description: str = "edge list") -> "ConformationGraph":
        """From (E, 2) node pairs in any order, repeats merged; a self-loop or a node outside the graph is named."""
        flat = [int(v) for v in np.asarray(edges, dtype=np.int64).reshape(-1)]
        return cls(binding.graph_from_edges(int(num_nodes), flat, description))

    @property
    def num_edges(self) -> int:
        return len(self.edges)

    def has_edge(self, i: int, j: int) -> bool:
        return bool(self._graph.has_edge(int(i), int(j)))

    def neighbours(self) -> List[np.ndarray]:
        """Sorted neighbours of every node."""
        from .analysis import graph_neighbours
        return graph_neighbours(self.num_nodes, self.edges)

    def write(self, path) -> None:
        """One "i j" line per edge, written atomically: what ``ept finetune --graph edges:PATH`` reads."""
        binding.write_edge_list(self._graph, os.fspath(path))

    def __repr__(self) -> str:
        return (f"ConformationGraph({self.description}: {self.num_nodes} nodes, {self.num_edges} edges, "
                f"{self.num_components} components)")


def time_lag_graph(frames_per_trajectory: Sequence[int], tau: int) -> ConformationGraph:
    """Frames within ``tau`` frames of each other in the same trajectory (0 < |i − j| ≤ tau)."""
    return ConformationGraph(binding.graph_time_lag([int(n) for n in frames_per_trajectory], int(tau)))


def _angstrom_frames(frames) -> np.ndarray:
    """(frames, atoms, 3) in Å from an mdtraj.Trajectory or an array in nm (or an OpenMM Quantity)."""
    import openmm.unit as unit
    if hasattr(frames, "xyz"):
        frames = frames.xyz
    if unit.is_quantity(frames):
        frames = frames.value_in_unit(unit.nanometer)
    x = np.asarray(frames, dtype=float)
    if x.ndim != 3 or x.shape[2] != 3:
        raise ValueError(f"frames must have the shape (frames, atoms, 3), got {x.shape}")
    return 10.0 * x


def superposed_rmsd(a, b, atoms: Optional[Sequence[int]] = None) -> float:
    """RMSD (nm) of two conformations (atoms × 3, nm) after optimal translation and rotation of ``atoms``."""
    x = _angstrom_frames(np.stack([np.asarray(a, dtype=float), np.asarray(b, dtype=float)]))
    n = x.shape[1]
    return binding.graph_superposed_rmsd(x[0].ravel().tolist(), x[1].ravel().tolist(), n,
                                         [int(i) for i in (atoms if atoms is not None else [])]) / 10.0


def rmsd_graph(frames, radius: float, atoms: Optional[Sequence[int]] = None, threads: int = 1) -> ConformationGraph:
    """Frames whose RMSD after optimal superposition on ``atoms`` (all when None) is ≤ ``radius`` nm. ``frames``:
    an mdtraj.Trajectory or an array (frames, atoms, 3) in nm. Exact, and pruned by the triangle inequality."""
    x = _angstrom_frames(frames)
    return ConformationGraph(binding.graph_rmsd(x.ravel().tolist(), x.shape[0], x.shape[1], 10.0 * float(radius),
                                                [int(i) for i in (atoms if atoms is not None else [])], int(threads)))


def label_graph(labels: Sequence[int]) -> ConformationGraph:
    """Frames with the same state label (≥ 0; negative: unlabelled, no edges)."""
    return ConformationGraph(binding.graph_labels([int(v) for v in labels]))


def read_edge_list(path, num_nodes: int) -> ConformationGraph:
    """An edge list file ("i j" per line, '#' comments); a node that does not exist is named with its line."""
    return ConformationGraph(binding.graph_read_edge_list(os.fspath(path), int(num_nodes)))


def read_labels(path, num_nodes: int) -> np.ndarray:
    """State labels, one integer per line and node."""
    return np.array(binding.graph_read_labels(os.fspath(path), int(num_nodes)), dtype=np.int64)
