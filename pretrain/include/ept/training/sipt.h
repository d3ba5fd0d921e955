#pragma once
// Structure-inducing finetuning (SIPT, shared/EPT-SPEC.md): L = (1 − λ)·L_denoise + λ·L_SI, where L_SI makes the
// pooled embeddings of conformations reflect a graph over them (ept/training/conformation_graph.h: time lag, RMSD, state
// labels, a user's edges). This file holds the two structure losses and the sampler of minibatches: anchors,
// each with a graph neighbour and a non-neighbour.
#include <torch/types.h>

#include <random>
#include <string>
#include <vector>

#include "ept/training/conformation_graph.h"
#include "ept/model/modes.h"

namespace ept {

enum class SiptLoss { Contrastive, MultiSimilarity };

/// "contrastive" or "multi-similarity"; InputError naming the word otherwise.
SiptLoss sipt_loss_from_name(const std::string& name);
const char* to_string(SiptLoss loss);

struct SiptConfig {
  double lambda = 0.1;  // weight of L_SI; 0 is the ablation (the same extra training, denoising only)
  SiptLoss loss = SiptLoss::Contrastive;
  // Margin contrastive, on Euclidean distances of the embeddings (L2-normalised first when `normalize`).
  double margin_positive = 0.1, margin_negative = 0.5;
  bool normalize = true;
  // Multi-similarity on cosine similarities: weights w⁺, w⁻, threshold t, and the mining margin.
  double ms_positive_weight = 2, ms_negative_weight = 40, ms_threshold = 0.5, ms_margin = 0.1;
  int64_t anchors = 16;                   // anchors per batch; each brings a neighbour and a non-neighbour
  bool negatives_same_component = false;  // draw non-neighbours from the anchor's connected component only
  /// The embedding of a conformation: Molecule (its one pooled row) or Block (its block rows concatenated, which
  /// needs every conformation to share one topology).
  DescriptorLevel level = DescriptorLevel::Molecule;
  /// Which graph (how it was built, nodes, edges): set by the trainer, part of what a resumed run must share.
  std::string graph;

  /// InputError naming the option (--lambda, --anchors, ...) of a value that cannot train.
  void validate() const;
  std::string to_json() const;
};

/// Pairs of a batch of embeddings z [n, D]: `positive` and `negative` [n, n] bool say which pairs (i, j) are
/// graph neighbours and which are not (the diagonal and pairs of the same node in neither).

/// mean_{(i,j) positive} ReLU(d_ij − m⁺) + mean_{(i,j) negative} ReLU(m⁻ − d_ij), d Euclidean (on L2-normalised
/// rows when `normalize`); a term without pairs is 0. Zero for an embedding that realises the graph.
torch::Tensor margin_contrastive_loss(const torch::Tensor& z, const torch::Tensor& positive, const torch::Tensor& negative,
                                      double margin_positive, double margin_negative, bool normalize);

/// Multi-similarity on cosine similarities S: for each anchor i with positives and negatives, keep the negatives
/// with S_ij + margin > min S_positive and the positives with S_ij − margin < max S_negative (pair mining), then
/// (1/w⁺) log(1 + Σ_pos e^{−w⁺(S − t)}) + (1/w⁻) log(1 + Σ_neg e^{w⁻(S − t)}); the mean over anchors. Zero when
/// every positive is more similar than every negative by the margin (nothing is mined).
torch::Tensor multi_similarity_loss(const torch::Tensor& z, const torch::Tensor& positive, const torch::Tensor& negative,
                                    double positive_weight, double negative_weight, double threshold, double margin);

/// The configured loss.
torch::Tensor structure_loss(const SiptConfig& config, const torch::Tensor& z, const torch::Tensor& positive,
                             const torch::Tensor& negative);

/// Pair masks [n, n] (bool) of the nodes of a batch: positive where the graph has the edge, negative where it has
/// none (with `same_component`: and the two share a component); the same node twice is neither.
std::pair<torch::Tensor, torch::Tensor> pair_masks(const ConformationGraph& graph, const std::vector<int64_t>& batch,
                                                   bool same_component);

/// Minibatches over some nodes of a graph (the training nodes; edges to other nodes are ignored).
class SiptSampler {
 public:
  /// InputError when no node among `nodes` has both a neighbour and a non-neighbour to draw.
  SiptSampler(const ConformationGraph& graph, std::vector<int64_t> nodes, bool negatives_same_component);
  /// `anchors` triplets (anchor, neighbour, non-neighbour), as graph nodes: [a₀, p₀, n₀, a₁, p₁, n₁, ...].
  std::vector<int64_t> sample(int64_t anchors, std::mt19937_64& rng) const;
  int64_t num_anchors() const { return static_cast<int64_t>(anchors_.size()); }

 private:
  std::vector<int64_t> anchors_;                  // nodes with a neighbour and a non-neighbour among those given
  std::vector<std::vector<int64_t>> neighbours_;  // per anchor: its neighbours among the nodes given
  std::vector<std::vector<int64_t>> pool_;        // per component (one for all without the option): its nodes
  std::vector<size_t> anchor_pool_;               // per anchor: the pool its non-neighbours come from
};

}  // namespace ept
