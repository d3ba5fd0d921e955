#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/activation.h>

#include "ept/model/fused.h"
#include "ept/model/layers.h"
#include "ept/data/vocabulary.h"

namespace ept {

EmbeddingImpl::EmbeddingImpl(const ModelConfig& c) : config_(c) {
  namespace nn = torch::nn;
  const int64_t d = c.hidden;
  atom_ = register_module("atom", nn::Embedding(vocab::kNumAtomTypes, d));
  position_ = register_module("position", nn::Embedding(vocab::kNumPositionCodes, d));
  block_ = register_module("block", nn::Embedding(vocab::kNumBlockTypes, d));
  // The first layer of MLP_e on [h_i ; h_j ; pair features] is split by input, so that the h parts are
  // projected once per atom instead of once per pair.
  edge_receiver_ = register_module("edge_receiver", nn::Linear(d, d));
  edge_sender_ = register_module("edge_sender", nn::Linear(nn::LinearOptions(d, d).bias(false)));
  edge_pair_ = register_module("edge_pair", nn::Linear(nn::LinearOptions(c.radial + c.edge_dim, d).bias(false)));
  edge_out_ = register_module("edge_out", nn::Linear(d, 2 * d));
  node_mlp_ = register_module("node_mlp", nn::Sequential(nn::Linear(2 * d, d), nn::SiLU(), nn::Linear(d, d)));
}

std::pair<torch::Tensor, torch::Tensor> EmbeddingImpl::forward(const Batch& b, const PairGeometry& geo,
                                                               const torch::Tensor& pair_features) {
  const int64_t d = config_.hidden;
  auto H = atom_(b.atom_type) + position_(b.position_code) + block_(b.block_type);
  if (fused) {
    const auto hidden = fused::edge_input(b, edge_receiver_(H), edge_sender_(H), edge_pair_(pair_features));
    auto [message, V] = fused::messages(b, edge_out_(hidden), geo.weight, H, geo.vector, config_.message_norm);
    return {node_mlp_->forward(torch::cat({H, message}, -1)), V};
  }
  const auto Hj = H.index_select(0, b.sender);
  const auto first = edge_receiver_(H).index_select(0, b.receiver) + edge_sender_(H).index_select(0, b.sender) +
                     edge_pair_(pair_features);
  const auto ag = edge_out_(torch::silu(first));
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
