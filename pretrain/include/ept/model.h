#pragma once
// The EPT network: embedding, L × (equivariant attention, feed-forward), then the heads.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>

#include "ept/layers.h"

namespace ept {

struct ModelOutput {
  torch::Tensor scalars;          // [A, d]    per-atom invariant features h (after the final layer norm)
  torch::Tensor vectors;          // [A, 3, d] per-atom equivariant features V
  torch::Tensor force;            // [R, 3]    direct per-atom force head (denoising), real atoms only
  torch::Tensor block_embedding;  // [blocks, d] z_b = Σ_{i∈b} h_i / √n_b (real blocks, then global blocks)
  torch::Tensor energy;           // [complexes] E = Σ_{real blocks} MLP(z_b), kJ/mol
};

class EPTModelImpl : public torch::nn::Module {
 public:
  explicit EPTModelImpl(const ModelConfig& config);
  /// `positions`: real atoms [R, 3] in Å, dtype of the model; forces by autograd need requires_grad on it.
  ModelOutput forward(const Batch& batch, const torch::Tensor& positions);
  const ModelConfig& config() const { return config_; }

 private:
  ModelConfig config_;
  Embedding embedding_{nullptr};
  torch::nn::Embedding edge_type_{nullptr};
  torch::nn::ModuleList attention_{nullptr}, feed_forward_{nullptr};
  torch::nn::LayerNorm final_norm_{nullptr};
  EquivariantFeedForward force_head_{nullptr};
  torch::nn::Sequential energy_head_{nullptr};
};
TORCH_MODULE(EPTModel);

}  // namespace ept
