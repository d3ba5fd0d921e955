// The Evaluator: its skin-cached graph gives what a fresh graph gives (sparse and dense; no skin without the
// envelope), is rebuilt only when an atom moved more than half the skin or the box changed, and the last forward
// pass serves descriptors until positions change.
#include <gtest/gtest.h>

#include <random>

#include "ept/model/descriptors.h"
#include "ept/error.h"
#include "ept/model/evaluator.h"
#include "test_support.h"

namespace ept {
namespace {

std::vector<Vec3> jiggle(std::vector<Vec3> x, double amplitude, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-amplitude, amplitude);
  for (auto& p : x)
    for (double& v : p) v += u(rng);
  return x;
}

double max_difference(const std::vector<Vec3>& a, const std::vector<Vec3>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (int k = 0; k < 3; ++k) m = std::max(m, std::abs(a[i][k] - b[i][k]));
  return m;
}

// Three moves of every atom by up to 0.2 Å through an evaluator with a 1 Å skin, each compared with a fresh graph.
void expect_cached_equals_fresh(Evaluator& cached, EPTModel& model, const Complex& complex, const std::vector<Vec3>& x0) {
  for (uint64_t step = 1; step <= 3; ++step) {
    const auto x = jiggle(x0, 0.2, step);
    cached.set_positions(x);
    const EnergyForces a = cached.compute(OutputMode::Energy);
    const EnergyForces b = test::evaluate(model, complex, x);
    EXPECT_NEAR(a.energy, b.energy, 1e-10 * std::abs(b.energy));
    EXPECT_LT(max_difference(a.forces, b.forces), 1e-10);
  }
}

TEST(Evaluator, SkinCachedGraphGivesFreshGraphResultsAndRebuildsOnlyWhenNeeded) {
  const Structure s = structure_from_smiles("CC(=O)NC(C)C(=O)NC.O.O");
  const Complex complex = build_complex(s.table);
  EPTModel model = test::small_model();
  Evaluator cached(model, complex, {torch::kFloat64, torch::kCPU, /*skin=*/1.0});
  cached.set_positions(s.positions);
  EXPECT_EQ(cached.graph_builds(), 1);
  // Moves below half the skin (0.5 Å) reuse the graph, and give the numbers a fresh graph gives.
  expect_cached_equals_fresh(cached, model, complex, s.positions);
  EXPECT_EQ(cached.graph_builds(), 1);
  // One atom moved beyond half the skin: rebuilt.
  auto far = s.positions;
  far[0][0] += 0.6;
  cached.set_positions(far);
  EXPECT_EQ(cached.graph_builds(), 2);
  // The same positions again change nothing; a box does.
  cached.set_positions(far);
  EXPECT_EQ(cached.graph_builds(), 2);
  cached.set_positions(far, Box::orthorhombic(40, 40, 40));
  EXPECT_EQ(cached.graph_builds(), 3);
}

// Dense models reuse the graph of the skin as sparse ones do; without the envelope, pairs in the skin would weigh 1,
// so the graph is built for the cutoff alone, every time atoms move.
TEST(Evaluator, SkinServesDenseModelsAndIsDroppedWithoutTheEnvelope) {
  const Structure s = structure_from_smiles("CC(=O)NC(C)C(=O)NC.O");
  const Complex complex = build_complex(s.table);
  ModelConfig config;
  config.cutoff = 3.0;
  config.attention = AttentionMode::Dense;
  EPTModel dense = test::small_model(config);
  Evaluator cached_dense(dense, complex, {torch::kFloat64, torch::kCPU, /*skin=*/1.0});
  cached_dense.set_positions(s.positions);
  expect_cached_equals_fresh(cached_dense, dense, complex, s.positions);
  EXPECT_EQ(cached_dense.graph_builds(), 1);
  config.attention = AttentionMode::Sparse;
  config.envelope = false;
  EPTModel bare = test::small_model(config);
  Evaluator cached_bare(bare, complex, {torch::kFloat64, torch::kCPU, /*skin=*/1.0});
  cached_bare.set_positions(s.positions);
  expect_cached_equals_fresh(cached_bare, bare, complex, s.positions);
  EXPECT_EQ(cached_bare.graph_builds(), 4);
}

TEST(Evaluator, DescriptorsReuseTheLastForwardPassUntilPositionsChange) {
  const Structure s = structure_from_smiles("CCO");
  EPTModel model = test::small_model();
  Evaluator evaluator(model, build_complex(s.table), {torch::kFloat64});
  evaluator.set_positions(s.positions);
  const EnergyForces ef = evaluator.compute(OutputMode::Energy);
  const torch::Tensor first = evaluator.descriptors(DescriptorLevel::Block);
  // The stored features are those of the evaluation that ran: the energy they give is its energy.
  EXPECT_NEAR(evaluator.forward().energy.sum().item<double>(), ef.energy, 1e-12 * std::abs(ef.energy));
  EXPECT_EQ(first.size(0), evaluator.complex().num_blocks());
  evaluator.set_positions(jiggle(s.positions, 0.3, 7));
  const torch::Tensor moved = evaluator.descriptors(DescriptorLevel::Block);
  EXPECT_GT((moved - first).abs().max().item<double>(), 1e-8);
}

TEST(Evaluator, BadInputIsNamed) {
  const Structure s = structure_from_smiles("CCO");
  EPTModel model = test::small_model();
  EXPECT_THROW(Evaluator(model, build_complex(s.table), {torch::kFloat64, torch::kCPU, -1.0}), InputError);
  Evaluator evaluator(model, build_complex(s.table), {torch::kFloat64});
  EXPECT_THROW(evaluator.compute(OutputMode::Energy), InputError);  // no positions yet
  auto x = s.positions;
  x.pop_back();
  EXPECT_THROW(evaluator.set_positions(x), InputError);
  x = s.positions;
  x[2][1] = std::nan("");
  try {
    evaluator.set_positions(x);
    FAIL() << "no exception for a NaN position";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("atom 2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ept
