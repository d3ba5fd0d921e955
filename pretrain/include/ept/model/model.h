#pragma once
// The EPT network: embedding, L × (equivariant attention, feed-forward), then the heads.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>

#include "ept/model/layers.h"

namespace ept {

struct ModelOutput {
  torch::Tensor scalars;          // [A, d]    per-atom invariant features h (after the final layer norm)
  torch::Tensor vectors;          // [A, 3, d] per-atom equivariant features V
  torch::Tensor force;            // [R, 3]    direct per-atom force head (denoising), real atoms only (if asked)
  torch::Tensor block_embedding;  // [blocks, d] z_b = Σ_{i∈b} h_i / √n_b (real blocks, then global blocks)
  torch::Tensor energy;           // [complexes] E = s · Σ_{real blocks} MLP(z_b) + Σ_{real atoms} e_{Z_i}, kJ/mol
};

class EPTModelImpl : public torch::nn::Module {
 public:
  explicit EPTModelImpl(const ModelConfig& config);
  /// `positions`: real atoms [R, 3] in Å, dtype of the model; forces by autograd need requires_grad on it.
  /// Without `force_head`, ModelOutput::force is left undefined (energies and descriptors do not need it).
  ModelOutput forward(const Batch& batch, const torch::Tensor& positions, bool force_head = true);
  const ModelConfig& config() const { return config_; }
  /// Evaluation through the fused pair kernels of ept/model/fused.h (CPU; forces by autograd, no second derivatives)
  /// instead of reference LibTorch ops; off by default, the Evaluator switches it on. Same results to rounding.
  void set_fused(bool fused);
  bool fused() const { return fused_; }
  /// Per-atom-type energy offsets e_Z [atom types] (kJ/mol) and the scale s of the energy head (kJ/mol): buffers,
  /// not parameters — energy finetuning fits them to the labels (least squares, force RMS) before it trains, and
  /// they stay fixed. A pretrained model has e = 0, s = 1.
  torch::Tensor& energy_offset() { return energy_offset_; }
  torch::Tensor& energy_scale() { return energy_scale_; }

 private:
  ModelConfig config_;
  Embedding embedding_{nullptr};
  torch::nn::Embedding edge_type_{nullptr};
  torch::nn::ModuleList attention_{nullptr}, feed_forward_{nullptr};
  torch::nn::LayerNorm final_norm_{nullptr};
  EquivariantFeedForward force_head_{nullptr};
  torch::nn::Sequential energy_head_{nullptr};
  torch::Tensor energy_offset_, energy_scale_;
  bool fused_ = false;
};
TORCH_MODULE(EPTModel);

}  // namespace ept
