#include <cmath>

#include "ept/model/fused.h"
#include "ept/model/layers.h"

namespace ept {

EquivariantAttentionImpl::EquivariantAttentionImpl(const ModelConfig& c) : config_(c) {
  namespace nn = torch::nn;
  const int64_t d = c.hidden, dq = c.qk_factor * d;
  norm_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({d})));
  query_ = register_module("query", nn::Linear(d, dq));
  key_ = register_module("key", nn::Linear(d, dq));
  value_ = register_module("value", nn::Linear(d, d));
  vector_value_ = register_module("vector_value", nn::Linear(nn::LinearOptions(d, d).bias(false)));
  bias_ = register_module("pair_bias", nn::Linear(c.radial + c.edge_dim, 1));
  out_ = register_module("out", nn::Linear(d, d));
  vector_out_ = register_module("vector_out", nn::Linear(nn::LinearOptions(d, d).bias(false)));
}

std::pair<torch::Tensor, torch::Tensor> EquivariantAttentionImpl::forward(const torch::Tensor& H, const torch::Tensor& V,
                                                                          const Batch& b, const PairGeometry& geo,
                                                                          const torch::Tensor& pair_features) {
  const int64_t A = H.size(0), d = config_.hidden, heads = config_.heads, dh = d / heads;
  const int64_t dq = config_.qk_factor * dh;
  const auto Hn = norm_(H);
  if (config_.attention == AttentionMode::Dense) {
    // Every two atoms of a complex, as matrix products over heads: [C, heads, W, W] logits for C complexes of at
    // most W atoms; the pair bias, weighted by the envelope, only on the graph's edges (0 elsewhere), so it fades
    // out smoothly at the cutoff.
    const DenseLayout& layout = geo.dense;
    const int64_t C = layout.complexes, W = layout.width;
    const auto q = layout.pad(query_(Hn).view({A, heads, dq})).permute({0, 2, 1, 3});  // [C, heads, W, dq]
    const auto k = layout.pad(key_(Hn).view({A, heads, dq})).permute({0, 2, 1, 3});
    const auto pair_terms = torch::zeros({C * W * W}, H.options())
                                .index_add(0, layout.pair, bias_(pair_features).squeeze(-1) * geo.weight)
                                .view({C, 1, W, W}) -
                            layout.distance.unsqueeze(1);  // β − r, shared by heads; −∞ towards empty slots
    const auto logit = torch::matmul(q, k.transpose(2, 3)) / std::sqrt(static_cast<double>(dq)) + pair_terms;
    const auto values = layout.pad(value_rows(Hn, V)).permute({0, 2, 1, 3});  // [C, heads, W, 4 d_h]
    const auto out = torch::matmul(torch::softmax(logit, -1), values).permute({0, 2, 1, 3});  // [C, W, heads, 4 d_h]
    return residual(H, V, layout.unpad(out));
  }
  if (fused) {
    auto [scalar_out, vector_out] = fused::attention(
        b, query_(Hn).view({A, heads, dq}), key_(Hn).view({A, heads, dq}),
        bias_(pair_features).squeeze(-1) - geo.distance, geo.weight, value_(Hn).view({A, heads, dh}),
        vector_value_(V).view({A, 3, heads, dh}), 1.0 / std::sqrt(static_cast<double>(dq)));
    return {H + out_(scalar_out.view({A, d})), V + vector_out_(vector_out.view({A, 3, d}))};
  }
  const auto q = query_(Hn).view({A, heads, dq}).index_select(0, b.receiver);
  const auto k = key_(Hn).view({A, heads, dq}).index_select(0, b.sender);
  const auto pair_bias = bias_(pair_features);  // [P, 1], shared by heads
  const auto logit = (q * k).sum(-1) / std::sqrt(static_cast<double>(dq)) + pair_bias - geo.distance.unsqueeze(-1);

  // Envelope-weighted softmax over each receiver's pairs, shifted by the receiver's own (self-pair) logit: the
  // shift cancels exactly, so it is taken out of the graph, and the self term makes the denominator at least 1.
  const auto top = logit.detach().index_select(0, b.self_pair);  // [A, heads]
  const auto weighted = torch::exp(logit - top.index_select(0, b.receiver)) * geo.weight.unsqueeze(-1);
  const auto denominator = torch::zeros({A, heads}, logit.options()).index_add(0, b.receiver, weighted);
  const auto alpha = weighted / denominator.index_select(0, b.receiver);  // [P, heads]

  const auto values = value_rows(Hn, V).index_select(0, b.sender);  // [P, heads, 4 d_h]
  return residual(H, V, torch::zeros({A, heads, 4 * dh}, H.options()).index_add(0, b.receiver, alpha.unsqueeze(-1) * values));
}

torch::Tensor EquivariantAttentionImpl::value_rows(const torch::Tensor& Hn, const torch::Tensor& V) {
  // Per head, u_j = [scalar part (d_h) ; vector part (3 × d_h)] is one contiguous row, so one product with α (one
  // gather and one scatter in sparse mode) serves both channels.
  const int64_t A = Hn.size(0), heads = config_.heads, dh = config_.hidden / heads;
  const auto scalar_values = value_(Hn).view({A, heads, dh});
  const auto vector_values = vector_value_(V).view({A, 3, heads, dh}).permute({0, 2, 1, 3}).reshape({A, heads, 3 * dh});
  return torch::cat({scalar_values, vector_values}, -1);
}

std::pair<torch::Tensor, torch::Tensor> EquivariantAttentionImpl::residual(const torch::Tensor& H, const torch::Tensor& V,
                                                                           const torch::Tensor& out) {
  const int64_t A = H.size(0), d = config_.hidden, heads = config_.heads, dh = d / heads;
  const auto scalar_out = out.slice(-1, 0, dh).reshape({A, d});
  const auto vector_out = out.slice(-1, dh, 4 * dh).reshape({A, heads, 3, dh}).permute({0, 2, 1, 3}).reshape({A, 3, d});
  return {H + out_(scalar_out), V + vector_out_(vector_out)};
}

}  // namespace ept
