#include <torch/nn/modules/activation.h>

#include "ept/layers.h"
#include "ept/vocabulary.h"

namespace ept {

EmbeddingImpl::EmbeddingImpl(const ModelConfig& c) : config_(c) {
  namespace nn = torch::nn;
  const int64_t d = c.hidden;
  atom_ = register_module("atom", nn::Embedding(vocab::kNumAtomTypes, d));
  position_ = register_module("position", nn::Embedding(vocab::kNumPositionCodes, d));
  block_ = register_module("block", nn::Embedding(vocab::kNumBlockTypes, d));
  edge_mlp_ = register_module("edge_mlp", nn::Sequential(nn::Linear(2 * d + c.radial + c.edge_dim, d), nn::SiLU(),
                                                         nn::Linear(d, 2 * d)));
  node_mlp_ = register_module("node_mlp", nn::Sequential(nn::Linear(2 * d, d), nn::SiLU(), nn::Linear(d, d)));
}

std::pair<torch::Tensor, torch::Tensor> EmbeddingImpl::forward(const Batch& b, const PairGeometry& geo,
                                                               const torch::Tensor& edge_features) {
  const int64_t d = config_.hidden;
  auto H = atom_(b.atom_type) + position_(b.position_code) + block_(b.block_type);
  const auto Hi = H.index_select(0, b.receiver), Hj = H.index_select(0, b.sender);
  const auto ag = edge_mlp_->forward(torch::cat({Hi, Hj, geo.basis, edge_features}, -1));
  const auto weight = (geo.weight / config_.message_norm).unsqueeze(-1);
  const auto a = ag.slice(-1, 0, d) * weight, g = ag.slice(-1, d, 2 * d) * weight;
  const auto message = torch::zeros_like(H).index_add(0, b.receiver, a * Hj);
  H = node_mlp_->forward(torch::cat({H, message}, -1));
  // V_i = Σ_j w_ij r_ij ⊗ g_ij / norm; global atoms start at zero.
  auto V = torch::zeros({b.num_atoms, 3, d}, H.options())
               .index_add(0, b.receiver, geo.vector.unsqueeze(-1) * g.unsqueeze(1));
  V = V * (~b.is_global).to(H.scalar_type()).view({-1, 1, 1});
  return {H, V};
}

}  // namespace ept
