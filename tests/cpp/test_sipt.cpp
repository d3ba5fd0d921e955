// Structure-inducing finetuning: each structure loss is zero on an embedding that realises the graph and positive on
// one that does not, with gradients that match finite differences; the sampler never offers a neighbour as a
// non-neighbour; a SIPT run trains, reports both parts of its loss, resumes bitwise and writes a model EPTForce loads.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <torch/autograd.h>

#include "ept/model/checkpoint.h"
#include "ept/training/conformation_graph.h"
#include "ept/data/dataset.h"
#include "ept/error.h"
#include "ept/model/evaluator.h"
#include "ept/training/sipt.h"
#include "ept/training/trainer.h"
#include "test_support.h"

namespace ept {
namespace {

namespace fs = std::filesystem;

// Two triangles {0, 1, 2} and {3, 4, 5}.
ConformationGraph two_cliques() { return ConformationGraph(6, {{0, 1}, {1, 2}, {0, 2}, {3, 4}, {4, 5}, {3, 5}}); }

std::pair<torch::Tensor, torch::Tensor> masks_of(const ConformationGraph& g) {
  std::vector<int64_t> all(g.num_nodes());
  std::iota(all.begin(), all.end(), 0);
  return pair_masks(g, all, false);
}

// Rows near e₁ for the first triangle and near e₂ for the second: the graph, realised.
torch::Tensor realising_embedding() {
  auto z = torch::zeros({6, 4}, torch::kFloat64);
  for (int i = 0; i < 3; ++i) z[i][0] = 1.0 + 0.01 * i, z[i][2] = 0.01 * i;
  for (int i = 3; i < 6; ++i) z[i][1] = 2.0, z[i][3] = 0.01 * (i - 3);
  return z;
}

// The same rows with nodes 2 and 5 swapped: each triangle now has a member far away.
torch::Tensor mixed_embedding() {
  auto z = realising_embedding().clone();
  const auto row = z[2].clone();
  z[2] = z[5];
  z[5] = row;
  return z;
}

std::vector<std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&)>> losses() {
  SiptConfig contrastive, ms;
  ms.loss = SiptLoss::MultiSimilarity;
  auto unnormalised = contrastive;
  unnormalised.normalize = false;
  unnormalised.margin_negative = 1.0;
  std::vector<std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&)>> out;
  for (const auto& c : {contrastive, unnormalised, ms})
    out.push_back([c](const torch::Tensor& z, const torch::Tensor& p, const torch::Tensor& n) {
      return structure_loss(c, z, p, n);
    });
  return out;
}

TEST(SiptLoss, ZeroOnAnEmbeddingThatRealisesTheGraphAndPositiveOtherwise) {
  const auto [positive, negative] = masks_of(two_cliques());
  for (const auto& loss : losses()) {
    EXPECT_NEAR(loss(realising_embedding(), positive, negative).item<double>(), 0.0, 1e-12);
    EXPECT_GT(loss(mixed_embedding(), positive, negative).item<double>(), 0.05);
  }
}

TEST(SiptLoss, GradientsMatchFiniteDifferences) {
  const auto [positive, negative] = masks_of(two_cliques());
  torch::manual_seed(4);
  for (const auto& loss : losses()) {
    for (const auto& start : {torch::randn({6, 4}, torch::kFloat64), mixed_embedding() + 0.1 * torch::randn({6, 4}, torch::kFloat64)}) {
      auto z = start.clone().requires_grad_(true);
      const auto gradient = torch::autograd::grad({loss(z, positive, negative)}, {z})[0];
      ASSERT_GT(gradient.abs().max().item<double>(), 1e-4) << "a loss with nothing to learn checks nothing";
      const double h = 1e-6;
      auto numeric = torch::zeros_like(start);
      for (int64_t i = 0; i < start.size(0); ++i)
        for (int64_t j = 0; j < start.size(1); ++j) {
          auto up = start.clone(), down = start.clone();
          up[i][j] += h;
          down[i][j] -= h;
          numeric[i][j] = (loss(up, positive, negative) - loss(down, positive, negative)).item<double>() / (2 * h);
        }
      EXPECT_TRUE(torch::allclose(gradient, numeric, 1e-6, 1e-7)) << gradient << "\n" << numeric;
    }
  }
}

TEST(SiptLoss, MultiSimilarityMinesOnlyHardPairs) {
  // One anchor (row 0), positive 1 and negative 2: with the negative far less similar than the positive by more
  // than the margin nothing is mined; moving it closer than the positive mines both pairs.
  auto positive = torch::zeros({3, 3}, torch::kBool), negative = torch::zeros({3, 3}, torch::kBool);
  positive[0][1] = true;
  negative[0][2] = true;
  auto z = torch::tensor({{1.0, 0.0}, {0.9, 0.1}, {0.0, 1.0}}, torch::kFloat64);
  EXPECT_EQ(multi_similarity_loss(z, positive, negative, 2, 40, 0.5, 0.1).item<double>(), 0.0);
  z = torch::tensor({{1.0, 0.0}, {0.5, 0.5}, {0.9, 0.1}}, torch::kFloat64);
  const double s_pos = 1 / std::sqrt(2.0), s_neg = 0.9 / std::sqrt(0.82);
  const double expected = std::log1p(std::exp(-2 * (s_pos - 0.5))) / 2 + std::log1p(std::exp(40 * (s_neg - 0.5))) / 40;
  EXPECT_NEAR(multi_similarity_loss(z, positive, negative, 2, 40, 0.5, 0.1).item<double>(), expected, 1e-12);
}

TEST(SiptSampler, NeverOffersANeighbourAsANonNeighbour) {
  const auto graph = time_lag_graph({30, 20, 2}, 3);
  for (bool same_component : {false, true}) {
    std::vector<int64_t> nodes;
    for (int64_t v = 0; v < graph.num_nodes(); v += (v < 25 ? 1 : 2)) nodes.push_back(v);  // a subset
    SiptSampler sampler(graph, nodes, same_component);
    std::mt19937_64 rng(9);
    std::set<int64_t> seen;
    for (int round = 0; round < 300; ++round) {
      const auto batch = sampler.sample(8, rng);
      ASSERT_EQ(batch.size(), 24u);
      for (size_t k = 0; k < batch.size(); k += 3) {
        const int64_t a = batch[k], p = batch[k + 1], n = batch[k + 2];
        for (int64_t v : {a, p, n}) EXPECT_TRUE(std::binary_search(nodes.begin(), nodes.end(), v)) << v;
        EXPECT_TRUE(graph.has_edge(a, p)) << a << " " << p;
        EXPECT_FALSE(graph.has_edge(a, n)) << a << " " << n;
        EXPECT_NE(a, n);
        if (same_component) EXPECT_EQ(graph.component()[a], graph.component()[n]);
        seen.insert(n);
      }
    }
    // Without the restriction non-neighbours come from every trajectory.
    if (!same_component) EXPECT_GE(*seen.rbegin(), 30) << "never drew from the second trajectory";
    const auto [positive, negative] = pair_masks(graph, sampler.sample(4, rng), same_component);
    EXPECT_TRUE(torch::equal(positive, positive.t()));
    EXPECT_FALSE((positive & negative).any().item<bool>());
  }
}

TEST(SiptSampler, AGraphWithoutAnchorsIsNamed) {
  try {
    SiptSampler(ConformationGraph(5, {}), {0, 1, 2, 3, 4}, false);
    ADD_FAILURE() << "an empty graph was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("none has both a graph neighbour and a non-neighbour"), std::string::npos) << e.what();
  }
  // Every node linked to every other: no non-neighbours to draw.
  EXPECT_THROW(SiptSampler(time_lag_graph({4}, 3), {0, 1, 2, 3}, false), InputError);
  // Nodes in components of their own, with negatives from the same component only.
  EXPECT_THROW(SiptSampler(ConformationGraph(4, {{0, 1}, {2, 3}}), {0, 1, 2, 3}, true), InputError);
}

TEST(SiptConfig, ValuesThatCannotTrainAreNamed) {
  auto expect = [](const std::function<void(SiptConfig&)>& change, const std::string& part) {
    SiptConfig c;
    change(c);
    try {
      c.validate();
      ADD_FAILURE() << "accepted; expected an error mentioning " << part;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect([](SiptConfig& c) { c.lambda = 1.5; }, "--lambda must be in [0, 1]");
  expect([](SiptConfig& c) { c.lambda = -0.1; }, "--lambda must be in [0, 1]");
  expect([](SiptConfig& c) { c.lambda = std::nan(""); }, "--lambda must be in [0, 1]");
  expect([](SiptConfig& c) { c.margin_negative = 0.05; }, "--margin-negative must be a finite distance above");
  expect([](SiptConfig& c) { c.anchors = 0; }, "--anchors must be at least 1");
  EXPECT_THROW(sipt_loss_from_name("triplet"), InputError);
}

// Three short "trajectories" of a tripeptide: the fixture's positions with growing random displacements.
Corpus trajectories_corpus() {
  const Structure s = read_pdb(test::fixture("peptide_AGS.pdb"));
  std::vector<MoleculeRecord> records(3);
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0.0, 0.05);
  for (size_t t = 0; t < records.size(); ++t) {
    records[t].domain = "md-frame";
    records[t].source = "trajectory " + std::to_string(t);
    records[t].table = s.table;
    auto x = s.positions;
    for (int frame = 0; frame < 12; ++frame) {
      for (auto& p : x)
        for (double& v : p) v += noise(rng);
      records[t].conformers.push_back(x);
    }
  }
  return Corpus::from_records(std::move(records), "sipt-test");
}

TrainConfig sipt_config() {
  TrainConfig c;
  c.task = Task::Sipt;
  c.model = test::small_model()->config();
  c.steps = 8;
  c.warmup = 2;
  c.checkpoint_every = 3;
  c.validate_every = 4;
  c.validation_fraction = 0.34;  // one of three trajectories
  c.dtype = torch::kFloat64;
  c.sipt.lambda = 0.5;
  c.sipt.anchors = 3;
  return c;
}

fs::path temporary(const std::string& name) {
  return fs::temp_directory_path() / ("ept-sipt-" + name + "-" + std::to_string(::getpid()));
}

TEST(SiptTrainer, TrainsBothPartsResumesBitwiseAndWritesAModelTheEvaluatorLoads) {
  torch::set_num_threads(1);
  const Corpus corpus = trajectories_corpus();
  const auto graph = time_lag_graph({12, 12, 12}, 2);
  const TrainConfig c = sipt_config();
  const auto straight = temporary("straight"), interrupted = temporary("interrupted");
  Trainer a(corpus, c, straight.string(), nullptr, nullptr, nullptr, &graph);
  EXPECT_EQ(a.validation_entries().size(), 12u) << "one whole trajectory is held out";
  a.run(false);
  {
    Trainer b(corpus, c, interrupted.string(), nullptr, nullptr, nullptr, &graph);
    b.run(false, {}, /*stop_after=*/5);  // the last checkpoint is step 3
  }
  Trainer resumed(corpus, c, interrupted.string(), nullptr, nullptr, nullptr, &graph);
  resumed.run(true);
  auto pa = a.model()->named_parameters(), pb = resumed.model()->named_parameters();
  for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();

  // Every step reports both parts, and the loss is (1 − λ)·denoising + λ·structure.
  std::ifstream metrics(straight / "metrics.jsonl");
  std::string line;
  int steps = 0;
  while (std::getline(metrics, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j["step"] == 0) {
      EXPECT_TRUE(j.contains("validation_structure_loss")) << line;
      continue;
    }
    ++steps;
    EXPECT_NEAR(j["loss"].get<double>(), 0.5 * j["denoising_loss"].get<double>() + 0.5 * j["structure_loss"].get<double>(), 1e-9);
  }
  EXPECT_EQ(steps, 8);

  CheckpointInfo info;
  EPTModel model = load_checkpoint((straight / "model.ept").string(), &info);
  const auto meta = nlohmann::json::parse(info.metadata);
  EXPECT_EQ(meta["sipt"]["lambda"], 0.5);
  EXPECT_EQ(meta["sipt"]["graph"], "time lag: frames within τ = 2 of each other in one trajectory (36 nodes, 63 edges)");
  EXPECT_EQ(info.energy, "untrained");
  Evaluator evaluator(model, corpus.complexes[0]);
  evaluator.set_positions(corpus.records[0].conformers[0]);
  EXPECT_EQ(evaluator.descriptors(DescriptorLevel::Block).size(0), corpus.complexes[0].num_blocks());
  fs::remove_all(straight);
  fs::remove_all(interrupted);
}

TEST(SiptTrainer, OneTrajectoryTrainsOnAllItsFrames) {
  Corpus three = trajectories_corpus();
  std::vector<MoleculeRecord> one{three.records[0]};
  const Corpus corpus = Corpus::from_records(std::move(one), "one trajectory");
  const auto graph = time_lag_graph({12}, 2);
  // Holding out a quarter of one trajectory's frames would split it by frame; holding it out leaves nothing.
  Trainer trainer(corpus, sipt_config(), temporary("one").string(), nullptr, nullptr, nullptr, &graph);
  EXPECT_EQ(trainer.training_entries().size(), 12u);
  EXPECT_TRUE(trainer.validation_entries().empty());
}

TEST(SiptTrainer, AGraphOfOtherConformationsIsNamed) {
  const Corpus corpus = trajectories_corpus();
  const auto graph = time_lag_graph({12, 12}, 2);
  try {
    Trainer(corpus, sipt_config(), temporary("mismatch").string(), nullptr, nullptr, nullptr, &graph);
    ADD_FAILURE() << "a graph of 24 nodes was taken for 36 conformations";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("the graph has 24 nodes but there are 36 conformations"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ept
