#include "ept/model/model.h"

#include <torch/nn/modules/activation.h>

#include "ept/model/fused.h"
#include "ept/data/vocabulary.h"

namespace ept {

EPTModelImpl::EPTModelImpl(const ModelConfig& c) : config_(c) {
  namespace nn = torch::nn;
  c.validate();
  embedding_ = register_module("embedding", Embedding(c));
  edge_type_ = register_module("edge_type", nn::Embedding(kNumEdgeTypes, c.edge_dim));
  attention_ = register_module("attention", nn::ModuleList());
  feed_forward_ = register_module("feed_forward", nn::ModuleList());
  for (int64_t l = 0; l < c.layers; ++l) {
    attention_->push_back(EquivariantAttention(c));
    feed_forward_->push_back(EquivariantFeedForward(c, c.hidden));
  }
  final_norm_ = register_module("final_norm", nn::LayerNorm(nn::LayerNormOptions({c.hidden})));
  force_head_ = register_module("force_head", EquivariantFeedForward(c, 1));
  energy_head_ = register_module("energy_head",
                                 nn::Sequential(nn::Linear(c.hidden, c.hidden), nn::SiLU(), nn::Linear(c.hidden, 1)));
  energy_offset_ = register_buffer("energy_offset", torch::zeros({vocab::kNumAtomTypes}));
  energy_scale_ = register_buffer("energy_scale", torch::ones({1}));
}

void EPTModelImpl::set_fused(bool fused) {
  fused_ = fused;
  embedding_->fused = fused;
  for (int64_t l = 0; l < config_.layers; ++l) attention_[l]->as<EquivariantAttention>()->fused = fused;
}

ModelOutput EPTModelImpl::forward(const Batch& b, const torch::Tensor& positions, bool force_head) {
  const auto x = all_positions(b, positions);
  auto geo = fused_ ? fused::pair_geometry(b, x, config_.cutoff, config_.radial)
                    : pair_geometry(b, x, config_.cutoff, config_.radial);
  if (config_.attention == AttentionMode::Dense) geo.dense = dense_layout(b, x);
  const auto pair_features = torch::cat({geo.basis, edge_type_(b.edge_type)}, -1);
  auto [H, V] = embedding_(b, geo, pair_features);
  for (int64_t l = 0; l < config_.layers; ++l) {
    std::tie(H, V) = attention_[l]->as<EquivariantAttention>()->forward(H, V, b, geo, pair_features);
    auto [dH, dV] = feed_forward_[l]->as<EquivariantFeedForward>()->forward(H, V);
    H = H + dH;
    V = V + dV;
  }
  ModelOutput out;
  out.scalars = final_norm_(H);
  out.vectors = V;
  if (force_head) {
    const auto unit = V / (vector_norm(V, config_.vector_eps).unsqueeze(1) + config_.vector_eps);
    out.force = force_head_(out.scalars, unit).second.squeeze(-1).slice(0, 0, b.num_real);
  }
  out.block_embedding = torch::zeros({b.num_blocks, config_.hidden}, H.options())
                            .index_add(0, b.atom_block, out.scalars) /
                        b.block_size.sqrt().unsqueeze(-1);
  const auto real_blocks = out.block_embedding.slice(0, 0, b.num_real_blocks);
  const auto block_energy = energy_head_->forward(real_blocks).squeeze(-1) * energy_scale_;
  const auto real_atoms = b.atom_type.slice(0, 0, b.num_real);
  const auto atom_complex = b.block_complex.index_select(0, b.atom_block.slice(0, 0, b.num_real));
  out.energy = torch::zeros({b.num_complexes}, H.options())
                   .index_add(0, b.block_complex.slice(0, 0, b.num_real_blocks), block_energy)
                   .index_add(0, atom_complex, energy_offset_.index_select(0, real_atoms));
  return out;
}

}  // namespace ept
