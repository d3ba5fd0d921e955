#pragma once
// The three building blocks of EPT (shared/EPT-SPEC.md): the equivariant embedding, pre-norm equivariant
// self-attention over atom pairs, and the GVP-style feed-forward. Scalars H are [A, d]; vectors V are [A, 3, d].
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "ept/model/batch.h"
#include "ept/model/config.h"
#include "ept/model/geometry.h"

namespace ept {

// `pair_features` below is [ρ(r_ij) ; e_τ(ij)]: the radial basis and the edge-type embedding of each pair.

/// Atom + position + block embeddings, then one equivariant message-passing step that gives scalar features and
/// the initial vector features (global atoms start with zero vectors).
class EmbeddingImpl : public torch::nn::Module {
 public:
  explicit EmbeddingImpl(const ModelConfig& config);
  /// Returns {H, V}.
  std::pair<torch::Tensor, torch::Tensor> forward(const Batch& batch, const PairGeometry& geometry,
                                                  const torch::Tensor& pair_features);
  /// Messages through ept/model/fused.h (evaluation only: differentiable once).
  bool fused = false;

 private:
  ModelConfig config_;
  torch::nn::Embedding atom_{nullptr}, position_{nullptr}, block_{nullptr};
  torch::nn::Linear edge_receiver_{nullptr}, edge_sender_{nullptr}, edge_pair_{nullptr}, edge_out_{nullptr};
  torch::nn::Sequential node_mlp_{nullptr};
};
TORCH_MODULE(Embedding);

/// Pre-norm multi-head attention; values carry scalar and vector channels; logits q·k/√dim + β(radial, edge type)
/// − distance. Sparse: over the graph's pairs, each exp(logit) weighted by the envelope. Dense: over every two atoms
/// of a complex as [heads × A × A] matrix products, β (times the envelope) on the graph's edges only.
class EquivariantAttentionImpl : public torch::nn::Module {
 public:
  explicit EquivariantAttentionImpl(const ModelConfig& config);
  /// Updates H and V in place of the residual stream: returns {H + ΔH, V + ΔV}.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& H, const torch::Tensor& V, const Batch& batch,
                                                  const PairGeometry& geometry, const torch::Tensor& pair_features);
  /// Sparse logits, softmax and aggregation through ept/model/fused.h (evaluation only: differentiable once); dense
  /// attention is matrix products either way.
  bool fused = false;

 private:
  /// Values of every atom, per head [scalar (d_h) ; vector (3 × d_h)]: [A, heads, 4 d_h].
  torch::Tensor value_rows(const torch::Tensor& Hn, const torch::Tensor& V);
  /// {H + ΔH, V + ΔV} from the aggregated value rows [A, heads, 4 d_h].
  std::pair<torch::Tensor, torch::Tensor> residual(const torch::Tensor& H, const torch::Tensor& V, const torch::Tensor& out);

  ModelConfig config_;
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::Linear query_{nullptr}, key_{nullptr}, value_{nullptr}, vector_value_{nullptr}, bias_{nullptr},
      out_{nullptr}, vector_out_{nullptr};
};
TORCH_MODULE(EquivariantAttention);

/// GVP-like feed-forward: scalars mix with vector norms; vectors are gated by layer-normed scalars.
/// With vector_outputs = 1 and no residual it is the direct-force head.
class EquivariantFeedForwardImpl : public torch::nn::Module {
 public:
  EquivariantFeedForwardImpl(const ModelConfig& config, int64_t vector_outputs);
  /// Returns {ΔH, ΔV} with ΔV of shape [A, 3, vector_outputs].
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& H, const torch::Tensor& V);

 private:
  ModelConfig config_;
  int64_t vector_outputs_;
  torch::nn::LayerNorm norm_{nullptr}, gate_norm_{nullptr};
  torch::nn::Linear vector_mix_{nullptr}, hidden_{nullptr}, out_{nullptr};
};
TORCH_MODULE(EquivariantFeedForward);

/// √(Σ_xyz v² + ε) per channel: [A, 3, c] -> [A, c].
torch::Tensor vector_norm(const torch::Tensor& V, double eps);

}  // namespace ept
