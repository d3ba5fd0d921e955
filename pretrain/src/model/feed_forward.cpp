#include <torch/nn/functional/activation.h>

#include "ept/model/layers.h"

namespace ept {

torch::Tensor vector_norm(const torch::Tensor& V, double eps) { return (V.pow(2).sum(1) + eps).sqrt(); }

EquivariantFeedForwardImpl::EquivariantFeedForwardImpl(const ModelConfig& c, int64_t vector_outputs)
    : config_(c), vector_outputs_(vector_outputs) {
  namespace nn = torch::nn;
  const int64_t d = c.hidden;
  norm_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({d})));
  vector_mix_ = register_module("vector_mix", nn::Linear(nn::LinearOptions(d, d + vector_outputs).bias(false)));
  hidden_ = register_module("hidden", nn::Linear(2 * d, c.ffn));
  out_ = register_module("out", nn::Linear(c.ffn, d + vector_outputs));
  // Layer norm of a single gate would be constant: the one-channel force head uses the raw gate.
  if (vector_outputs > 1) gate_norm_ = register_module("gate_norm", nn::LayerNorm(nn::LayerNormOptions({vector_outputs})));
}

std::pair<torch::Tensor, torch::Tensor> EquivariantFeedForwardImpl::forward(const torch::Tensor& H,
                                                                            const torch::Tensor& V) {
  const int64_t d = config_.hidden;
  const auto Hn = norm_(H);
  const auto mixed = vector_mix_(V);  // [A, 3, d + vo]
  const auto V1 = mixed.slice(-1, 0, d), V2 = mixed.slice(-1, d, d + vector_outputs_);
  const auto s = torch::cat({Hn, vector_norm(V1, config_.vector_eps)}, -1);
  const auto out = out_(torch::silu(hidden_(s)));
  auto gate = out.slice(-1, d, d + vector_outputs_);
  if (gate_norm_) gate = gate_norm_(gate);
  return {out.slice(-1, 0, d), gate.unsqueeze(1) * V2};
}

}  // namespace ept
