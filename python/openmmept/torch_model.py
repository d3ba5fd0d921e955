"""EPT in plain PyTorch: the network of the C++ library, op for op, loading the same ``.ept`` checkpoints.

What it is for:

* a baseline: the same weights evaluated by eager PyTorch or by ``torch.compile``, to measure the LibTorch
  library (EPTForce) against;
* a starting point for PyTorch users: :func:`descriptors` gives the invariant rows [h ; |V|] at the atom, block,
  segment and molecule levels as tensors that carry gradients, so a head of one's own (a property, a
  collective variable, an energy correction) can be put on them and trained with ordinary PyTorch;
* a check of the library: for the same inputs it gives the library's energies, forces and descriptors (float64 to
  round-off, float32 to ~1e-6 relative).

The graph and batch (which atom pairs interact, edge types, periodic image shifts, global atoms) are built by the
library itself, through :func:`batch_from_force`, from an :class:`openmmept.EPTForce` that holds the chemistry::

    force = openmmept.EPTPotential(path).createForce(topology)
    model = EPTModel.load(path, dtype=torch.float64)
    batch = batch_from_force(force, positions_angstrom, box_angstrom, model.config, torch.float64)
    x = torch.as_tensor(positions_angstrom, dtype=torch.float64)
    energy, forces = energy_and_forces(model, batch, x)   # kJ/mol, kJ/mol/Å
    rows = model.descriptors(model(batch, x), batch, "block")

Units: positions and box in Å inside the model (OpenMM's nm only in :func:`create_python_force`), energies in
kJ/mol, forces in kJ/mol/Å.

Limitation: there is no neighbour-list reuse. Every call of :func:`batch_from_force` (so every step of
:func:`create_python_force`) rebuilds the graph in the library and copies it into tensors; EPTForce instead keeps
its graph while no atom moved more than half the ``neighborSkin``.
"""
import json
import math
import struct
import zlib
from dataclasses import dataclass, fields
from typing import NamedTuple, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# Vocabulary sizes (pretrain/include/ept/data/vocabulary.h, graph.h; vocabulary version 1).
VOCAB_VERSION = 1
NUM_ATOM_TYPES = 2 + 118 + 1  # pad, mask, global, then index 2 + Z for Z = 1..118
NUM_POSITION_CODES = 14
NUM_BLOCK_TYPES = 4 + 20 - 1 + 118 + 1
NUM_EDGE_TYPES = 6  # self, intra-block, bonded, spatial, cross-segment, global

_MAGIC = b"EPTMODEL"
_FORMAT_VERSION = 1
_PREAMBLE = 8 + 4 + 8
_LEVELS = ("atom", "block", "segment", "molecule")


# ----------------------------------------------------------------------------------------------------------------
# Configuration and inputs


@dataclass
class ModelConfig:
    """Hyper-parameters stored in every checkpoint (the ``config`` object of its header)."""
    hidden: int = 64            # d: scalar channels, and vector channels (3 × d)
    ffn: int = 128              # feed-forward width
    heads: int = 4
    layers: int = 3
    radial: int = 16            # Gaussians on [0, cutoff]
    edge_dim: int = 16          # edge-type embedding width
    qk_factor: int = 1          # query/key width per head = qk_factor · d / heads
    cutoff: float = 5.0         # Å
    attention: str = "sparse"   # "sparse" (the pairs within the cutoff) or "dense" (every two atoms) attend
    envelope: bool = True       # smooth envelope on cutoff pairs
    message_norm: float = 16.0  # neighbour sums are divided by this
    vector_eps: float = 1e-6    # inside √(|v|² + ε)

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"model config: unknown keys {', '.join(unknown)}")
        config = cls(**values)
        if config.attention not in ("dense", "sparse"):
            raise ValueError(f"model config: 'attention' must be \"dense\" or \"sparse\", got {config.attention!r}")
        if config.hidden % config.heads:
            raise ValueError(f"model config: 'hidden' ({config.hidden}) must be a multiple of 'heads' ({config.heads})")
        return config


class Batch(NamedTuple):
    """The network's inputs for one or more complexes (pretrain/include/ept/model/batch.h). Atoms: the R real atoms, then
    one global atom per segment (A in all). Integer tensors are int64, ``is_global`` bool, the rest floating."""
    num_real: int
    num_atoms: int
    num_real_blocks: int
    num_blocks: int
    num_segments: int
    num_complexes: int
    atom_type: torch.Tensor      # [A]
    position_code: torch.Tensor  # [A]
    block_type: torch.Tensor     # [A]
    atom_block: torch.Tensor     # [A]
    is_global: torch.Tensor      # [A] bool
    receiver: torch.Tensor       # [P] i of pair (i, j)
    sender: torch.Tensor         # [P] j
    edge_type: torch.Tensor      # [P]
    shift: torch.Tensor          # [P, 3] Å: r_ij = x_i − x_j + shift_ij
    enveloped: torch.Tensor      # [P] 0/1
    self_pair: torch.Tensor      # [A] index of the pair (i, i)
    real_segment: torch.Tensor   # [R]
    unwrap: torch.Tensor         # [R, 3] Å
    segment_size: torch.Tensor   # [S]
    block_size: torch.Tensor     # [blocks]
    block_complex: torch.Tensor  # [blocks]
    block_segment: torch.Tensor  # [blocks]

    def to(self, dtype: Optional[torch.dtype] = None, device=None) -> "Batch":
        """Floating tensors converted to ``dtype``; every tensor moved to ``device``."""
        changes = {}
        for name in _FLOAT_FIELDS:
            t = getattr(self, name)
            changes[name] = t.to(device=device, dtype=dtype or t.dtype)
        if device is not None:
            for name in _INT_FIELDS + ("is_global",):
                changes[name] = getattr(self, name).to(device)
        return self._replace(**changes)


_COUNTS = ("num_real", "num_atoms", "num_real_blocks", "num_blocks", "num_segments", "num_complexes")
_FLOAT_FIELDS = ("shift", "enveloped", "unwrap", "segment_size", "block_size")
_INT_FIELDS = ("atom_type", "position_code", "block_type", "atom_block", "receiver", "sender", "edge_type",
               "self_pair", "real_segment", "block_complex", "block_segment")


def _model_config_of_force(force) -> ModelConfig:
    return read_checkpoint(force.getModelPath())[0]


def batch_from_force(force, positions, box=None, config: Optional[ModelConfig] = None,
                     dtype: torch.dtype = torch.float32) -> Batch:
    """The batch the library builds for ``force``'s ML atoms at ``positions`` (Å, [R, 3]) in ``box`` (three box
    vectors in Å, or None for no periodicity), with the graph options of ``config`` (default: the force's model).
    The graph is built anew by every call."""
    from .binding import model_inputs

    if config is None:
        config = _model_config_of_force(force)
    x = np.ascontiguousarray(positions, dtype=np.float64).reshape(-1)
    b = [] if box is None else np.ascontiguousarray(box, dtype=np.float64).reshape(-1).tolist()
    raw = model_inputs(force, x.tolist(), b, 0 if config.attention == "dense" else 1, float(config.cutoff),
                       bool(config.envelope))
    values = {}
    for name in _COUNTS:
        values[name] = int(raw[name][0])
    for name in _INT_FIELDS:
        values[name] = torch.from_numpy(np.asarray(raw[name], dtype=np.float64).astype(np.int64))
    values["is_global"] = torch.from_numpy(np.asarray(raw["is_global"], dtype=np.float64) != 0)
    for name in _FLOAT_FIELDS:
        values[name] = torch.from_numpy(np.asarray(raw[name], dtype=np.float64)).to(dtype)
    values["shift"] = values["shift"].view(-1, 3)
    values["unwrap"] = values["unwrap"].view(-1, 3)
    return Batch(**values)


# ----------------------------------------------------------------------------------------------------------------
# Geometry (pretrain/src/model/geometry.cpp)


def envelope(s: torch.Tensor) -> torch.Tensor:
    """u(s) = 1 − 21s⁵ + 35s⁶ − 15s⁷ of min(s, 1): 0 with zero slope and curvature from s = 1 on."""
    c = s.clamp_max(1.0)
    c5 = c.pow(5)
    return 1 - 21 * c5 + 35 * c5 * c - 15 * c5 * c * c


def radial_basis(r: torch.Tensor, cutoff: float, num_basis: int) -> torch.Tensor:
    """Gaussians on s = r / cutoff (centres evenly on [0, 1]) times u(s): [P] -> [P, K]."""
    s = r / cutoff
    centers = torch.linspace(0, 1, num_basis, dtype=r.dtype, device=r.device)
    width = 1.0 / (num_basis - 1)
    z = (s.unsqueeze(-1) - centers) / width
    return envelope(s).unsqueeze(-1) * torch.exp(-0.5 * z * z)


def all_positions(batch: Batch, real_positions: torch.Tensor) -> torch.Tensor:
    """[R, 3] real-atom positions -> [A, 3]: global atoms at the centroids of their segments."""
    unwrapped = real_positions + batch.unwrap
    centroid = real_positions.new_zeros(batch.num_segments, 3).index_add(0, batch.real_segment, unwrapped)
    centroid = centroid / batch.segment_size.unsqueeze(-1)
    return torch.cat([real_positions, centroid], 0)


class DenseLayout(NamedTuple):
    """Dense attention's layout: each complex's atoms (real, then global) in one row of ``width`` slots, so that
    attention runs as [complexes, heads, width, width] matrix products, not over every two atoms of the batch."""
    complexes: int
    width: int
    slot: torch.Tensor      # [A] atom a sits at slot[a] of the flattened [complexes × width]
    pair: torch.Tensor      # [P] the graph's pair (i, j) at its flat index in [complexes × width × width]
    distance: torch.Tensor  # [complexes, width, width] |x_i − x_j| (Å; no box), +∞ towards empty slots

    def pad(self, t: torch.Tensor) -> torch.Tensor:
        """[A, ...] -> [complexes, width, ...], zeros in empty slots."""
        if self.complexes == 1:
            return t.unsqueeze(0)
        padded = t.new_zeros((self.complexes * self.width,) + tuple(t.shape[1:])).index_copy(0, self.slot, t)
        return padded.view((self.complexes, self.width) + tuple(t.shape[1:]))

    def unpad(self, t: torch.Tensor) -> torch.Tensor:
        """[complexes, width, ...] -> [A, ...]."""
        if self.complexes == 1:
            return t.squeeze(0)
        return t.reshape((self.complexes * self.width,) + tuple(t.shape[2:])).index_select(0, self.slot)


def dense_layout(batch: Batch, positions: torch.Tensor) -> DenseLayout:
    """The layout of ``batch`` for dense attention, with the distances of all positions [A, 3]."""
    complex_ = batch.block_complex.index_select(0, batch.atom_block)  # [A]
    counts = torch.bincount(complex_, minlength=batch.num_complexes)
    width = int(counts.max())
    order = torch.sort(complex_, stable=True).indices  # atoms keep their batch order within a complex
    local = torch.empty_like(complex_)
    start = counts.cumsum(0) - counts
    local[order] = torch.arange(len(complex_), device=complex_.device) - start.index_select(0, complex_[order])
    slot = complex_ * width + local
    pair = slot.index_select(0, batch.receiver) * width + local.index_select(0, batch.sender)
    layout = DenseLayout(batch.num_complexes, width, slot, pair, positions.new_zeros(0))
    xp = layout.pad(positions)
    r = (xp.unsqueeze(2) - xp.unsqueeze(1)).pow(2).sum(-1).clamp_min(1e-20).sqrt()  # 0 on the diagonal
    if batch.num_complexes * width > len(complex_):
        empty = ~layout.pad(torch.ones(len(complex_), dtype=torch.bool, device=positions.device))
        r = r.masked_fill(empty.unsqueeze(1), math.inf)
    return layout._replace(distance=r)


class PairGeometry(NamedTuple):
    vector: torch.Tensor    # [P, 3] r_ij (Å)
    distance: torch.Tensor  # [P]
    basis: torch.Tensor     # [P, K]
    weight: torch.Tensor    # [P] envelope for enveloped pairs, 1 otherwise
    dense: Optional[DenseLayout] = None  # dense attention only


def pair_geometry(batch: Batch, positions: torch.Tensor, cutoff: float, num_basis: int) -> PairGeometry:
    vector = positions.index_select(0, batch.receiver) - positions.index_select(0, batch.sender) + batch.shift
    distance = vector.pow(2).sum(-1).clamp_min(1e-20).sqrt()  # self pairs: r = 0 with a zero gradient
    basis = radial_basis(distance, cutoff, num_basis)
    weight = 1 + batch.enveloped * (envelope(distance / cutoff) - 1)
    return PairGeometry(vector, distance, basis, weight)


def vector_norm(V: torch.Tensor, eps: float) -> torch.Tensor:
    """√(Σ_xyz v² + ε) per channel: [A, 3, c] -> [A, c]."""
    return (V.pow(2).sum(1) + eps).sqrt()


# ----------------------------------------------------------------------------------------------------------------
# Layers (pretrain/src/model/embedding.cpp, attention.cpp, feed_forward.cpp)


class Embedding(nn.Module):
    """Atom + position + block embeddings, then one message-passing step giving H [A, d] and the initial vectors
    V [A, 3, d] (zero on global atoms)."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        d = c.hidden
        self.config = c
        self.atom = nn.Embedding(NUM_ATOM_TYPES, d)
        self.position = nn.Embedding(NUM_POSITION_CODES, d)
        self.block = nn.Embedding(NUM_BLOCK_TYPES, d)
        # First layer of MLP_e([h_i ; h_j ; pair features]), split by input.
        self.edge_receiver = nn.Linear(d, d)
        self.edge_sender = nn.Linear(d, d, bias=False)
        self.edge_pair = nn.Linear(c.radial + c.edge_dim, d, bias=False)
        self.edge_out = nn.Linear(d, 2 * d)
        self.node_mlp = nn.Sequential(nn.Linear(2 * d, d), nn.SiLU(), nn.Linear(d, d))

    def forward(self, b: Batch, geo: PairGeometry, pair_features: torch.Tensor):
        d = self.config.hidden
        H = self.atom(b.atom_type) + self.position(b.position_code) + self.block(b.block_type)  # [A, d]
        Hj = H.index_select(0, b.sender)  # [P, d]
        first = (self.edge_receiver(H).index_select(0, b.receiver) + self.edge_sender(H).index_select(0, b.sender)
                 + self.edge_pair(pair_features))
        ag = self.edge_out(F.silu(first))  # [P, 2d]
        weight = (geo.weight / self.config.message_norm).unsqueeze(-1)
        a = ag[:, :d] * weight
        g = ag[:, d:] * weight
        message = torch.zeros_like(H).index_add(0, b.receiver, a * Hj)  # Σ_j a_ij ⊙ h_j
        H = self.node_mlp(torch.cat([H, message], -1))
        # V_i = Σ_j w_ij r_ij ⊗ g_ij / norm  [A, 3, d]
        V = H.new_zeros(b.num_atoms, 3, d).index_add(0, b.receiver, geo.vector.unsqueeze(-1) * g.unsqueeze(1))
        V = V * (~b.is_global).to(H.dtype).view(-1, 1, 1)
        return H, V


class EquivariantAttention(nn.Module):
    """Pre-norm attention, logits q·k/√dq + β(pair) − r; values carry the scalar and the vector channels. Sparse:
    over the graph's pairs, softmax per receiver weighted by the envelope. Dense: over every two atoms of a complex
    as [heads, A, A] matrix products, β (times the envelope) on the graph's edges only. Returns the residual stream
    (H + ΔH, V + ΔV)."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        d, dq = c.hidden, c.qk_factor * c.hidden
        self.config = c
        self.norm = nn.LayerNorm(d)
        self.query = nn.Linear(d, dq)
        self.key = nn.Linear(d, dq)
        self.value = nn.Linear(d, d)
        self.vector_value = nn.Linear(d, d, bias=False)
        self.pair_bias = nn.Linear(c.radial + c.edge_dim, 1)
        self.out = nn.Linear(d, d)
        self.vector_out = nn.Linear(d, d, bias=False)

    def forward(self, H, V, b: Batch, geo: PairGeometry, pair_features):
        A, d, heads = H.shape[0], self.config.hidden, self.config.heads
        dh = d // heads
        dq = self.config.qk_factor * dh
        Hn = self.norm(H)
        if self.config.attention == "dense":
            layout = geo.dense
            C, W = layout.complexes, layout.width
            q = layout.pad(self.query(Hn).view(A, heads, dq)).permute(0, 2, 1, 3)  # [C, heads, W, dq]
            k = layout.pad(self.key(Hn).view(A, heads, dq)).permute(0, 2, 1, 3)
            pair_terms = (H.new_zeros(C * W * W).index_add(0, layout.pair,
                                                           self.pair_bias(pair_features).squeeze(-1) * geo.weight)
                          .view(C, 1, W, W) - layout.distance.unsqueeze(1))  # β − r; −∞ towards empty slots
            logit = q @ k.transpose(2, 3) / math.sqrt(dq) + pair_terms  # [C, heads, W, W]
            values = layout.pad(self._value_rows(Hn, V)).permute(0, 2, 1, 3)  # [C, heads, W, 4 dh]
            out = (torch.softmax(logit, -1) @ values).permute(0, 2, 1, 3)  # [C, W, heads, 4 dh]
            return self._residual(H, V, layout.unpad(out))
        q = self.query(Hn).view(A, heads, dq).index_select(0, b.receiver)  # [P, heads, dq]
        k = self.key(Hn).view(A, heads, dq).index_select(0, b.sender)
        bias = self.pair_bias(pair_features)  # [P, 1], shared by the heads
        logit = (q * k).sum(-1) / math.sqrt(dq) + bias - geo.distance.unsqueeze(-1)  # [P, heads]

        # Softmax shifted by each receiver's self-pair logit (the shift cancels; kept out of the autograd graph).
        top = logit.detach().index_select(0, b.self_pair)  # [A, heads]
        weighted = torch.exp(logit - top.index_select(0, b.receiver)) * geo.weight.unsqueeze(-1)
        denominator = logit.new_zeros(A, heads).index_add(0, b.receiver, weighted)
        alpha = weighted / denominator.index_select(0, b.receiver)  # [P, heads]

        values = self._value_rows(Hn, V).index_select(0, b.sender)  # [P, heads, 4 dh]
        return self._residual(H, V, H.new_zeros(A, heads, 4 * dh).index_add(0, b.receiver, alpha.unsqueeze(-1) * values))

    def _value_rows(self, Hn, V):
        """Per head one value row u_j = [scalar (dh) ; vector (3 × dh)]: [A, heads, 4 dh]."""
        A, heads = Hn.shape[0], self.config.heads
        dh = self.config.hidden // heads
        scalar_values = self.value(Hn).view(A, heads, dh)
        vector_values = self.vector_value(V).view(A, 3, heads, dh).permute(0, 2, 1, 3).reshape(A, heads, 3 * dh)
        return torch.cat([scalar_values, vector_values], -1)

    def _residual(self, H, V, out):
        """(H + ΔH, V + ΔV) from the aggregated value rows [A, heads, 4 dh]."""
        A, d, heads = H.shape[0], self.config.hidden, self.config.heads
        dh = d // heads
        scalar_out = out[..., :dh].reshape(A, d)
        vector_out = out[..., dh:].reshape(A, heads, 3, dh).permute(0, 2, 1, 3).reshape(A, 3, d)
        return H + self.out(scalar_out), V + self.vector_out(vector_out)


class EquivariantFeedForward(nn.Module):
    """GVP-like feed-forward: scalars mix with vector norms, vectors are gated by (layer-normed) scalars. With one
    vector output it is the direct-force head. Returns (ΔH [A, d], ΔV [A, 3, vector_outputs])."""

    def __init__(self, c: ModelConfig, vector_outputs: int):
        super().__init__()
        d = c.hidden
        self.config = c
        self.vector_outputs = vector_outputs
        self.norm = nn.LayerNorm(d)
        self.vector_mix = nn.Linear(d, d + vector_outputs, bias=False)
        self.hidden = nn.Linear(2 * d, c.ffn)
        self.out = nn.Linear(c.ffn, d + vector_outputs)
        # A layer norm of one gate would be constant: the force head uses the raw gate.
        self.gate_norm = nn.LayerNorm(vector_outputs) if vector_outputs > 1 else None

    def forward(self, H, V):
        d = self.config.hidden
        Hn = self.norm(H)
        mixed = self.vector_mix(V)  # [A, 3, d + vo]
        V1, V2 = mixed[..., :d], mixed[..., d:]
        s = torch.cat([Hn, vector_norm(V1, self.config.vector_eps)], -1)  # [A, 2d]
        out = self.out(F.silu(self.hidden(s)))
        gate = out[:, d:]
        if self.gate_norm is not None:
            gate = self.gate_norm(gate)
        return out[:, :d], gate.unsqueeze(1) * V2


# ----------------------------------------------------------------------------------------------------------------
# The model (pretrain/src/model/model.cpp)


class ModelOutput(NamedTuple):
    energy: torch.Tensor           # [complexes] kJ/mol
    scalars: torch.Tensor          # [A, d] h after the final layer norm
    vectors: torch.Tensor          # [A, 3, d] V
    force: torch.Tensor            # [R, 3] direct force head, kJ/mol/Å (real atoms)
    block_embedding: torch.Tensor  # [blocks, d] z_b = Σ_{i∈b} h_i / √n_b (real blocks, then global blocks)


class EPTModel(nn.Module):
    """Embedding, L × (attention, feed-forward), final layer norm, the direct-force head and the energy head
    E = s · Σ_{real blocks} MLP(z_b) + Σ_{real atoms} e_{Z_i}. Parameter and buffer names are the checkpoint's."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        c = self.config = config
        self.embedding = Embedding(c)
        self.edge_type = nn.Embedding(NUM_EDGE_TYPES, c.edge_dim)
        self.attention = nn.ModuleList(EquivariantAttention(c) for _ in range(c.layers))
        self.feed_forward = nn.ModuleList(EquivariantFeedForward(c, c.hidden) for _ in range(c.layers))
        self.final_norm = nn.LayerNorm(c.hidden)
        self.force_head = EquivariantFeedForward(c, 1)
        self.energy_head = nn.Sequential(nn.Linear(c.hidden, c.hidden), nn.SiLU(), nn.Linear(c.hidden, 1))
        self.register_buffer("energy_offset", torch.zeros(NUM_ATOM_TYPES))  # e_Z, kJ/mol
        self.register_buffer("energy_scale", torch.ones(1))                 # s

    def forward(self, batch: Batch, positions: torch.Tensor) -> ModelOutput:
        """``positions``: real atoms [R, 3] in Å, in the model's dtype (set requires_grad for forces)."""
        c, b = self.config, batch
        if b.shift.dtype != positions.dtype:
            b = b.to(positions.dtype)
        x = all_positions(b, positions)  # [A, 3]
        geo = pair_geometry(b, x, c.cutoff, c.radial)
        if c.attention == "dense":
            geo = geo._replace(dense=dense_layout(b, x))
        pair_features = torch.cat([geo.basis, self.edge_type(b.edge_type)], -1)  # [P, K + edge_dim]
        H, V = self.embedding(b, geo, pair_features)
        for attention, feed_forward in zip(self.attention, self.feed_forward):
            H, V = attention(H, V, b, geo, pair_features)
            dH, dV = feed_forward(H, V)
            H = H + dH
            V = V + dV
        scalars = self.final_norm(H)
        unit = V / (vector_norm(V, c.vector_eps).unsqueeze(1) + c.vector_eps)
        force = self.force_head(scalars, unit)[1].squeeze(-1)[:b.num_real]
        block_embedding = (H.new_zeros(b.num_blocks, c.hidden).index_add(0, b.atom_block, scalars)
                           / b.block_size.sqrt().unsqueeze(-1))
        real_blocks = block_embedding[:b.num_real_blocks]
        block_energy = self.energy_head(real_blocks).squeeze(-1) * self.energy_scale  # [real blocks]
        real_atoms = b.atom_type[:b.num_real]
        atom_complex = b.block_complex.index_select(0, b.atom_block[:b.num_real])
        energy = (H.new_zeros(b.num_complexes)
                  .index_add(0, b.block_complex[:b.num_real_blocks], block_energy)
                  .index_add(0, atom_complex, self.energy_offset.index_select(0, real_atoms)))
        return ModelOutput(energy, scalars, V, force, block_embedding)

    def descriptors(self, output: ModelOutput, batch: Batch, level: str = "block") -> torch.Tensor:
        """:func:`descriptors` with this model's vector ε."""
        return descriptors(output, batch, level, self.config.vector_eps)

    @classmethod
    def load(cls, path, dtype: torch.dtype = torch.float32) -> "EPTModel":
        """The model of an ``.ept`` checkpoint, in ``dtype``, in eval mode with frozen parameters. ValueError naming
        the file for a foreign, truncated, damaged or incompatible file."""
        config, tensors, _ = read_checkpoint(path)
        # Loaded in the stored precision (float64 if any tensor is), then converted, as the library does.
        stored = torch.float64 if any(t.dtype == torch.float64 for t in tensors.values()) else torch.float32
        model = cls(config).to(stored)
        state = model.state_dict()
        missing = [name for name in state if name not in tensors]
        # Files from before the energy buffers existed lack them: they keep their defaults (no offsets, scale 1).
        for name in missing:
            if name not in ("energy_offset", "energy_scale"):
                raise ValueError(f"{path}: parameter '{name}' is missing")
            tensors[name] = state[name]
        for name, t in tensors.items():
            if name in state and tuple(state[name].shape) != tuple(t.shape):
                raise ValueError(f"{path}: tensor '{name}' has shape {tuple(t.shape)}, the model "
                                 f"{tuple(state[name].shape)}")
        try:
            model.load_state_dict(tensors, strict=True)
        except RuntimeError as e:
            raise ValueError(f"{path}: {e}") from None
        model.to(dtype).eval()
        for p in model.parameters():
            p.requires_grad_(False)
        return model


# ----------------------------------------------------------------------------------------------------------------
# Checkpoints (pretrain/src/model/checkpoint.cpp)


def _parse_header(data: bytes, label: str):
    if len(data) == 0:
        raise ValueError(f"{label}: the file is empty")
    if data[:8] != _MAGIC[:min(8, len(data))]:
        raise ValueError(f"{label}: the file does not start with the EPT checkpoint signature")
    if len(data) < _PREAMBLE:
        raise ValueError(f"{label}: the file is truncated (it ends inside its preamble)")
    version, head_len = struct.unpack_from("<IQ", data, 8)
    if version != _FORMAT_VERSION:
        raise ValueError(f"{label}: checkpoint format version {version}, this module reads {_FORMAT_VERSION}")
    if head_len > len(data) - _PREAMBLE:
        raise ValueError(f"{label}: the file is truncated (it ends inside its header)")
    try:
        header = json.loads(data[_PREAMBLE:_PREAMBLE + head_len])
        payload = int(header["payload_bytes"])
    except (ValueError, KeyError, TypeError):
        header, payload = None, None
    if header is not None:
        expected = _PREAMBLE + head_len + payload + 4
        if len(data) < expected:
            raise ValueError(f"{label}: the file is truncated ({len(data)} bytes, expected {expected})")
    if len(data) < _PREAMBLE + head_len + 4:
        raise ValueError(f"{label}: the file is truncated (it ends before its checksum)")
    stored = struct.unpack_from("<I", data, len(data) - 4)[0]
    computed = zlib.crc32(data[:-4]) & 0xFFFFFFFF
    if header is not None and len(data) > expected:
        raise ValueError(f"{label}: {len(data) - expected} unexpected bytes after the end of the checkpoint")
    if stored != computed:
        raise ValueError(f"{label}: checksum mismatch (stored {stored:08x}, computed {computed:08x}); "
                         "the file was damaged")
    if header is None:
        raise ValueError(f"{label}: the header is not a valid EPT header")
    if header.get("vocab_version") != VOCAB_VERSION:
        raise ValueError(f"{label}: vocabulary version {header.get('vocab_version')}, this module has {VOCAB_VERSION}")
    return header, _PREAMBLE + head_len


def read_checkpoint(path):
    """(ModelConfig, {name: tensor in its stored dtype}, metadata dict) of an ``.ept`` file, its CRC-32 checked."""
    with open(path, "rb") as f:
        data = f.read()
    header, offset = _parse_header(data, str(path))
    end = offset + int(header["payload_bytes"])
    try:
        config = ModelConfig.from_dict(header["config"])
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: {e}") from None
    tensors = {}
    for entry in header["tensors"]:
        dtype = {"float32": np.float32, "float64": np.float64}[entry["dtype"]]
        shape = tuple(entry["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        size = count * np.dtype(dtype).itemsize
        if offset + size > end:
            raise ValueError(f"{path}: tensor '{entry['name']}' runs past the payload")
        array = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<"), count=count, offset=offset)
        tensors[entry["name"]] = torch.from_numpy(array.astype(dtype).reshape(shape))
        offset += size
    return config, tensors, header.get("metadata", {})


# ----------------------------------------------------------------------------------------------------------------
# Readouts


def _pool(rows: torch.Tensor, group: torch.Tensor, count: int) -> torch.Tensor:
    """Σ of each group's rows / √(members): [n, c] -> [count, c]."""
    sums = rows.new_zeros(count, rows.shape[1]).index_add(0, group, rows)
    members = rows.new_zeros(count).index_add(0, group, torch.ones_like(group, dtype=rows.dtype))
    return sums / members.clamp_min(1).sqrt().unsqueeze(-1)


def descriptors(output: ModelOutput, batch: Batch, level: Union[str, int] = "block",
                vector_eps: float = 1e-6) -> torch.Tensor:
    """Invariant rows [h ; |V|] ([rows, 2·d]) of real atoms, real blocks, segments or complexes ("atom", "block",
    "segment", "molecule"); each level pools the one below by Σ / √n. ``vector_eps``: the model's
    ``config.vector_eps`` (:meth:`EPTModel.descriptors` passes it)."""
    if not isinstance(level, str):
        level = getattr(level, "name", None) or _LEVELS[int(level)]
    level = level.lower()
    if level not in _LEVELS:
        raise ValueError(f"unknown descriptor level {level!r} (use atom, block, segment or molecule)")
    b = batch
    atoms = torch.cat([output.scalars, vector_norm(output.vectors, vector_eps)], -1)[:b.num_real]
    if level == "atom":
        return atoms
    blocks = _pool(atoms, b.atom_block[:b.num_real], b.num_real_blocks)
    if level == "block":
        return blocks
    segments = _pool(blocks, b.block_segment[:b.num_real_blocks], b.num_segments)
    if level == "segment":
        return segments
    # Global block s (after the real blocks) belongs to segment s; its block_complex is the segment's complex.
    return _pool(segments, b.block_complex[b.num_real_blocks:b.num_blocks], b.num_complexes)


def energy_and_forces(model, batch: Batch, positions: torch.Tensor, create_graph: bool = False):
    """(energy [complexes] kJ/mol, forces −∂E/∂x [R, 3] kJ/mol/Å) by autograd. ``model``: an EPTModel or any
    callable with its signature (a ``torch.compile``-d one)."""
    with torch.enable_grad():
        x = positions.detach().requires_grad_(True)
        energy = model(batch, x).energy
        (gradient,) = torch.autograd.grad(energy.sum(), x, create_graph=create_graph)
    if not create_graph:
        energy = energy.detach()
    return energy, -gradient


# ----------------------------------------------------------------------------------------------------------------
# OpenMM


def create_python_force(model_path, topology, atoms=None, compile: bool = False, dtype: torch.dtype = torch.float32,
                        threads: Optional[int] = None):
    """An ``openmm.PythonForce`` evaluating the model of ``model_path`` on ``atoms`` of ``topology`` (all if None)
    with this module, the way openmm-ml runs PyTorch models: every evaluation builds the graph in the library
    (:func:`batch_from_force`) and runs the PyTorch model; forces by autograd. Periodic when the topology has a box.

    ``compile``: wrap the model's forward in ``torch.compile(dynamic=True)`` (pair counts change every step; the
    first evaluations compile). ``threads``: ``torch.set_num_threads`` (process-wide). The model's energy is used as
    it is (no energyScale, no global parameter).

    The force holds a closure, so it cannot be pickled: ``XmlSerializer.serialize`` of a System holding it fails.
    Use EPTForce for Systems that are saved or sent elsewhere.
    """
    import openmm

    from .potential import EPTPotential

    if threads is not None:
        torch.set_num_threads(int(threads))
    model_path = str(model_path)
    chemistry = EPTPotential(model_path).createForce(topology, atoms)  # holds the ML atoms' chemistry
    model = EPTModel.load(model_path, dtype)
    config = model.config
    forward = torch.compile(model, dynamic=True) if compile else model
    periodic = topology.getPeriodicBoxVectors() is not None

    def computation(state):
        x = np.asarray(state.getPositions(asNumpy=True).value_in_unit(openmm.unit.nanometer)) * 10.0  # Å
        box = None
        if periodic:
            box = np.asarray(state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(openmm.unit.nanometer)) * 10.0
        batch = batch_from_force(chemistry, x, box, config, dtype)
        energy, forces = energy_and_forces(forward, batch, torch.as_tensor(x, dtype=dtype))
        # kJ/mol/Å -> kJ/mol/nm
        return float(energy.sum()), forces.to(torch.float64).numpy() * 10.0

    force = openmm.PythonForce(computation)
    if atoms is not None:
        force.setParticles([int(a) for a in atoms])
    force.setUsesPeriodicBoundaryConditions(periodic)
    return force


__all__ = ["Batch", "EPTModel", "ModelConfig", "ModelOutput", "batch_from_force", "create_python_force",
           "descriptors", "energy_and_forces", "read_checkpoint"]
