#include "ept/training/sipt.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "ept/error.h"

namespace ept {

SiptLoss sipt_loss_from_name(const std::string& name) {
  if (name == "contrastive") return SiptLoss::Contrastive;
  if (name == "multi-similarity") return SiptLoss::MultiSimilarity;
  throw InputError("unknown structure loss '" + name + "' (use contrastive or multi-similarity)");
}

const char* to_string(SiptLoss loss) { return loss == SiptLoss::Contrastive ? "contrastive" : "multi-similarity"; }

void SiptConfig::validate() const {
  auto finite = [](double v) { return std::isfinite(v); };
  if (!(lambda >= 0 && lambda <= 1))
    throw InputError("--lambda must be in [0, 1] (the weight of the structure loss; 0: denoising only), got " +
                     std::to_string(lambda));
  if (!(finite(margin_positive) && margin_positive >= 0))
    throw InputError("--margin-positive must be a finite distance ≥ 0, got " + std::to_string(margin_positive));
  if (!(finite(margin_negative) && margin_negative > margin_positive))
    throw InputError("--margin-negative must be a finite distance above --margin-positive (" +
                     std::to_string(margin_positive) + "), got " + std::to_string(margin_negative));
  if (!(finite(ms_positive_weight) && ms_positive_weight > 0 && finite(ms_negative_weight) && ms_negative_weight > 0))
    throw InputError("--ms-positive-weight and --ms-negative-weight must be finite numbers > 0");
  if (!(finite(ms_threshold) && std::abs(ms_threshold) <= 1))
    throw InputError("--ms-threshold must be a cosine similarity in [-1, 1], got " + std::to_string(ms_threshold));
  if (!(finite(ms_margin) && ms_margin >= 0)) throw InputError("--ms-margin must be a finite number ≥ 0");
  if (anchors < 1) throw InputError("--anchors must be at least 1, got " + std::to_string(anchors));
  if (level != DescriptorLevel::Molecule && level != DescriptorLevel::Block)
    throw InputError("--level must be molecule or block (the embedding of a whole conformation)");
}

std::string SiptConfig::to_json() const {
  nlohmann::ordered_json j = {{"lambda", lambda}, {"loss", to_string(loss)}, {"anchors", anchors},
                              {"negatives", negatives_same_component ? "same-component" : "any"},
                              {"level", level == DescriptorLevel::Block ? "block" : "molecule"}, {"graph", graph}};
  if (loss == SiptLoss::Contrastive) {
    j["margin_positive"] = margin_positive;
    j["margin_negative"] = margin_negative;
    j["normalize"] = normalize;
  } else {
    j["ms_positive_weight"] = ms_positive_weight;
    j["ms_negative_weight"] = ms_negative_weight;
    j["ms_threshold"] = ms_threshold;
    j["ms_margin"] = ms_margin;
  }
  return j.dump();
}

namespace {

// Mean of `values` over the true entries of `mask`; 0 when there are none.
torch::Tensor masked_mean(const torch::Tensor& values, const torch::Tensor& mask) {
  const auto count = mask.sum();
  return torch::where(mask, values, torch::zeros_like(values)).sum() / count.clamp_min(1).to(values.dtype());
}

}  // namespace

torch::Tensor margin_contrastive_loss(const torch::Tensor& z, const torch::Tensor& positive, const torch::Tensor& negative,
                                      double margin_positive, double margin_negative, bool normalize) {
  const auto x = normalize ? z / z.norm(2, 1, true).clamp_min(1e-12) : z;
  // d_ij = √(|x_i − x_j|² + ε): differentiable where two embeddings coincide.
  const auto d = ((x.unsqueeze(1) - x.unsqueeze(0)).square().sum(-1) + 1e-12).sqrt();  // [n, n]
  return masked_mean(torch::relu(d - margin_positive), positive) + masked_mean(torch::relu(margin_negative - d), negative);
}

torch::Tensor multi_similarity_loss(const torch::Tensor& z, const torch::Tensor& positive, const torch::Tensor& negative,
                                    double positive_weight, double negative_weight, double threshold, double margin) {
  const auto x = z / z.norm(2, 1, true).clamp_min(1e-12);
  const auto s = torch::matmul(x, x.t());  // [n, n] cosine similarities
  const auto fixed = s.detach();           // mining selects pairs; it is not differentiated
  const double inf = std::numeric_limits<double>::infinity();
  const auto min_positive = torch::where(positive, fixed, torch::full_like(fixed, inf)).amin(1, true);
  const auto max_negative = torch::where(negative, fixed, torch::full_like(fixed, -inf)).amax(1, true);
  const auto hard_negative = negative & (fixed + margin > min_positive);
  const auto hard_positive = positive & (fixed - margin < max_negative);
  // log(1 + Σ_mined e^{x}) as a logsumexp with a zero column: stable for large weights.
  auto soft = [&](const torch::Tensor& exponent, const torch::Tensor& mined) {
    const auto e = torch::where(mined, exponent, torch::full_like(exponent, -inf));
    return torch::logsumexp(torch::cat({torch::zeros_like(e.narrow(1, 0, 1)), e}, 1), 1);
  };
  const auto per_anchor = soft(-positive_weight * (s - threshold), hard_positive) / positive_weight +
                          soft(negative_weight * (s - threshold), hard_negative) / negative_weight;  // [n]
  const auto anchors = positive.any(1) & negative.any(1);
  return masked_mean(per_anchor, anchors);
}

torch::Tensor structure_loss(const SiptConfig& c, const torch::Tensor& z, const torch::Tensor& positive,
                             const torch::Tensor& negative) {
  if (c.loss == SiptLoss::Contrastive)
    return margin_contrastive_loss(z, positive, negative, c.margin_positive, c.margin_negative, c.normalize);
  return multi_similarity_loss(z, positive, negative, c.ms_positive_weight, c.ms_negative_weight, c.ms_threshold,
                               c.ms_margin);
}

SiptSampler::SiptSampler(const ConformationGraph& graph, std::vector<int64_t> nodes, bool negatives_same_component) {
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  // Non-neighbours come from the anchor's component, or (key 0) from all the nodes.
  auto key = [&](int64_t v) { return negatives_same_component ? graph.component()[v] : 0; };
  std::map<int64_t, size_t> pool_of;  // key -> index into pool_
  for (int64_t v : nodes) {
    if (v < 0 || v >= graph.num_nodes())
      throw InputError("node " + std::to_string(v) + " is not in the graph of " + std::to_string(graph.num_nodes()) + " nodes");
    const auto [it, added] = pool_of.emplace(key(v), pool_.size());
    if (added) pool_.emplace_back();
    pool_[it->second].push_back(v);
  }
  for (int64_t v : nodes) {
    std::vector<int64_t> mine;
    for (const int64_t* u = graph.neighbours_begin(v); u != graph.neighbours_end(v); ++u)
      if (std::binary_search(nodes.begin(), nodes.end(), *u)) mine.push_back(*u);
    // Every neighbour is in the anchor's component, so its pool holds them all.
    const size_t pool = pool_of.at(key(v));
    if (!mine.empty() && pool_[pool].size() > mine.size() + 1) {
      anchors_.push_back(v);
      neighbours_.push_back(std::move(mine));
      anchor_pool_.push_back(pool);
    }
  }
  if (anchors_.empty())
    throw InputError("the graph '" + graph.description() + "' gives no anchor among these " +
                     std::to_string(nodes.size()) + " conformations: none has both a graph neighbour and a " +
                     "non-neighbour" + (negatives_same_component ? " in its component" : "") +
                     " (an empty graph, or one that links everything); build a graph with edges, or a sparser one");
}

std::vector<int64_t> SiptSampler::sample(int64_t anchors, std::mt19937_64& rng) const {
  std::vector<int64_t> batch;
  for (int64_t k = 0; k < anchors; ++k) {
    const size_t a = std::uniform_int_distribution<size_t>(0, anchors_.size() - 1)(rng);
    const auto& mine = neighbours_[a];
    const int64_t anchor = anchors_[a];
    const int64_t neighbour = mine[std::uniform_int_distribution<size_t>(0, mine.size() - 1)(rng)];
    const auto& pool = pool_[anchor_pool_[a]];
    // Rejection: the anchor has at least one non-neighbour in its pool, so this ends.
    int64_t other;
    do other = pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)];
    while (other == anchor || std::binary_search(mine.begin(), mine.end(), other));
    batch.insert(batch.end(), {anchor, neighbour, other});
  }
  return batch;
}

std::pair<torch::Tensor, torch::Tensor> pair_masks(const ConformationGraph& graph, const std::vector<int64_t>& batch,
                                                   bool same_component) {
  const auto n = static_cast<int64_t>(batch.size());
  auto positive = torch::zeros({n, n}, torch::kBool), negative = torch::zeros({n, n}, torch::kBool);
  auto p = positive.accessor<bool, 2>(), q = negative.accessor<bool, 2>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t u = batch[i], v = batch[j];
      if (u == v) continue;
      if (graph.has_edge(u, v)) p[i][j] = true;
      else if (!same_component || graph.component()[u] == graph.component()[v]) q[i][j] = true;
    }
  return {positive, negative};
}

}  // namespace ept
