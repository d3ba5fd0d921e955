#pragma once
// Hand-written forward and backward passes of the pair-heavy parts of EPT, for evaluation (molecular dynamics,
// descriptors). Each walks the pairs receiver by receiver (Batch::row_pairs) in one or two passes and keeps for
// its backward pass only what that needs, instead of the [pairs × channels] intermediates of the reference ops.
// Their backward passes are not differentiable again: training, which puts forces in the loss, uses the
// reference path (EPTModelImpl::set_fused(false), the default); asking for a second derivative through a fused
// part raises Error. CPU tensors of float32 or float64.
#include <torch/types.h>

#include <utility>

#include "ept/model/batch.h"
#include "ept/model/geometry.h"

namespace ept::fused {

/// As ept::pair_geometry (geometry.h), in one pass over the pairs; differentiable with respect to `positions`.
PairGeometry pair_geometry(const Batch& batch, const torch::Tensor& positions, double cutoff, int64_t num_basis);

/// Envelope-weighted softmax attention over each receiver's pairs (EPT-SPEC.md):
///   logit_ijm = scale · q_im·k_jm + c_ij,   α_ijm = w_ij e^{logit_ijm} / Σ_j' w_ij' e^{logit_ij'm},
///   scalar_out_im = Σ_j α_ijm s_jm,   vector_out_ixm = Σ_j α_ijm v_jxm.
/// q, k: [A, heads, dq]; c, w: [P]; s: [A, heads, dh]; v: [A, 3, heads, dh].
/// Returns {scalar_out [A, heads, dh], vector_out [A, 3, heads, dh]}; keeps [P, heads] softmax weights.
std::pair<torch::Tensor, torch::Tensor> attention(const Batch& batch, const torch::Tensor& q, const torch::Tensor& k,
                                                  const torch::Tensor& c, const torch::Tensor& w,
                                                  const torch::Tensor& s, const torch::Tensor& v, double scale);

/// The hidden layer of the embedding's edge MLP: y_ij = silu(R_i + S_j + E_ij) for every pair (i, j).
/// R, S: [A, d] (the receiver and sender projections); E: [P, d] (the pair-feature projection). Returns [P, d].
torch::Tensor edge_input(const Batch& batch, const torch::Tensor& R, const torch::Tensor& S, const torch::Tensor& E);

/// The embedding's messages. Per pair, a = ag[:, :d] · w / norm and g = ag[:, d:] · w / norm;
///   message_i = Σ_j a_ij ⊙ H_j,   V_i = Σ_j r_ij ⊗ g_ij (zero for global atoms).
/// ag: [P, 2d]; w: [P]; H: [A, d]; r: [P, 3]. Returns {message [A, d], V [A, 3, d]}.
std::pair<torch::Tensor, torch::Tensor> messages(const Batch& batch, const torch::Tensor& ag, const torch::Tensor& w,
                                                 const torch::Tensor& H, const torch::Tensor& r, double norm);

}  // namespace ept::fused
