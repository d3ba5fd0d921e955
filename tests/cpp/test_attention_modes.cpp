// Sparse attention reduces to dense attention when the cutoff covers the molecule and the envelope is off; dense
// attention reaches beyond the cutoff; float32 agrees with float64; batches equal separate runs in both modes.
#include <gtest/gtest.h>

#include <algorithm>

#include <torch/autograd.h>

#include "ept/model/batch.h"
#include "ept/model/graph.h"
#include "test_support.h"

namespace ept {
namespace {

ModelOutput run(EPTModel& model, const Complex& c, const std::vector<Vec3>& x, torch::Dtype dtype = torch::kFloat64) {
  const Graph g = build_graph(c, x, model->config().graph_options());
  const Batch b = make_batch({&c}, {&g}, dtype);
  return model->forward(b, test::to_tensor(x).to(dtype));
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

TEST(AttentionModes, SparseWithLargeCutoffAndNoEnvelopeEqualsDense) {
  const Structure s = structure_from_smiles("CC(=O)NC(C)C(=O)NC.CO");
  const Complex c = build_complex(s.table);
  ModelConfig config;
  config.cutoff = 60.0;
  config.envelope = false;
  config.attention = AttentionMode::Dense;
  EPTModel dense = test::small_model(config, 9);
  config.attention = AttentionMode::Sparse;
  EPTModel sparse = test::small_model(config, 9);
  const ModelOutput a = run(dense, c, s.positions), b = run(sparse, c, s.positions);
  EXPECT_LT(max_diff(a.energy, b.energy), 1e-10);
  EXPECT_LT(max_diff(a.scalars, b.scalars), 1e-10);
  EXPECT_LT(max_diff(a.vectors, b.vectors), 1e-10);
  EXPECT_LT(max_diff(a.force, b.force), 1e-10);

  // With the envelope on, or a cutoff inside the molecule, the two modes differ.
  config.envelope = true;
  EPTModel enveloped = test::small_model(config, 9);
  EXPECT_GT(max_diff(run(enveloped, c, s.positions).energy, a.energy), 1e-8);
  config.envelope = false;
  config.cutoff = 3.0;
  EPTModel short_range = test::small_model(config, 9);
  config.attention = AttentionMode::Dense;
  EPTModel dense_short = test::small_model(config, 9);
  EXPECT_GT(max_diff(run(short_range, c, s.positions).energy, run(dense_short, c, s.positions).energy), 1e-8);
}

// Water 8 Å from ethanol, cutoff 3 Å: no edge joins them. Moving the water changes ethanol's features under dense
// attention (every two atoms attend) and leaves them alone under sparse attention.
TEST(AttentionModes, DenseAttentionReachesBeyondTheCutoff) {
  const Structure s = structure_from_smiles("CCO.O");
  const Complex c = build_complex(s.table);
  auto is_water = [&](int64_t i) { return c.block_segment[c.atom_block[i]] == 1; };
  auto place = [&](double gap) {  // the water moved along x to `gap` Å beyond ethanol
    double ethanol_end = -1e9, water_start = 1e9;
    for (int64_t i = 0; i < c.num_atoms(); ++i) {
      if (is_water(i)) water_start = std::min(water_start, s.positions[i][0]);
      else ethanol_end = std::max(ethanol_end, s.positions[i][0]);
    }
    auto x = s.positions;
    for (int64_t i = 0; i < c.num_atoms(); ++i)
      if (is_water(i)) x[i][0] += ethanol_end + gap - water_start;
    return x;
  };
  auto ethanol_features = [&](const ModelOutput& out) {
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < c.num_atoms(); ++i)
      if (!is_water(i)) rows.push_back(i);
    return out.scalars.index_select(0, torch::tensor(rows));
  };
  ModelConfig config;
  config.cutoff = 3.0;
  for (const AttentionMode mode : {AttentionMode::Sparse, AttentionMode::Dense}) {
    config.attention = mode;
    EPTModel model = test::small_model(config, 5);
    const double change = max_diff(ethanol_features(run(model, c, place(8.0))), ethanol_features(run(model, c, place(9.0))));
    if (mode == AttentionMode::Sparse)
      EXPECT_LT(change, 1e-12);
    else
      EXPECT_GT(change, 1e-6);
  }
}

TEST(AttentionModes, Float32AgreesWithFloat64) {
  const Structure s = read_pdb(test::fixture("peptide_AGS.pdb"));
  const Complex c = build_complex(s.table);
  EPTModel model = test::small_model();
  const ModelOutput a = run(model, c, s.positions);
  model->to(torch::kFloat32);
  const ModelOutput b = run(model, c, s.positions, torch::kFloat32);
  EXPECT_EQ(b.energy.scalar_type(), torch::kFloat32);
  EXPECT_LT(max_diff(a.energy, b.energy.to(torch::kFloat64)), 1e-4 * std::max(1.0, a.energy.abs().item<double>()));
  EXPECT_LT(max_diff(a.force, b.force.to(torch::kFloat64)), 1e-4);
}

void expect_batch_equals_separate_runs(EPTModel& model) {
  const Structure s1 = structure_from_smiles("CCO"), s2 = read_pdb(test::fixture("peptide_AGS.pdb"));
  const Complex c1 = build_complex(s1.table), c2 = build_complex(s2.table);
  const Graph g1 = build_graph(c1, s1.positions, model->config().graph_options());
  const Graph g2 = build_graph(c2, s2.positions, model->config().graph_options());
  auto x = s1.positions;
  x.insert(x.end(), s2.positions.begin(), s2.positions.end());
  const ModelOutput both = model->forward(make_batch({&c1, &c2}, {&g1, &g2}), test::to_tensor(x));
  const ModelOutput a = run(model, c1, s1.positions), b = run(model, c2, s2.positions);
  EXPECT_LT(max_diff(both.energy, torch::cat({a.energy, b.energy})), 1e-10);
  EXPECT_LT(max_diff(both.force, torch::cat({a.force, b.force})), 1e-10);
}

// Training with forces in the loss differentiates dense attention twice; a batch of two complexes gives the sum of
// the two complexes' parameter gradients.
TEST(AttentionModes, DenseForceLossGradientOfABatchIsTheSumOfSeparateRuns) {
  ModelConfig config;
  config.attention = AttentionMode::Dense;
  config.cutoff = 3.0;
  EPTModel model = test::small_model(config);
  const Structure s1 = structure_from_smiles("CCO"), s2 = structure_from_smiles("CC(=O)NC");
  const Complex c1 = build_complex(s1.table), c2 = build_complex(s2.table);
  const Graph g1 = build_graph(c1, s1.positions, config.graph_options());
  const Graph g2 = build_graph(c2, s2.positions, config.graph_options());
  auto gradient = [&](const Batch& b, const std::vector<Vec3>& x) {
    const auto positions = test::to_tensor(x).requires_grad_(true);
    const auto energy = model->forward(b, positions, /*force_head=*/false).energy.sum();
    const auto forces = -torch::autograd::grad({energy}, {positions}, {}, true, /*create_graph=*/true)[0];
    model->zero_grad();
    forces.pow(2).sum().backward();
    std::vector<torch::Tensor> g;
    for (const auto& p : model->parameters())
      g.push_back(p.grad().defined() ? p.grad().flatten().clone() : torch::zeros({p.numel()}, p.options()));
    return torch::cat(g);
  };
  auto x = s1.positions;
  x.insert(x.end(), s2.positions.begin(), s2.positions.end());
  const auto both = gradient(make_batch({&c1, &c2}, {&g1, &g2}), x);
  const auto separate = gradient(make_batch({&c1}, {&g1}), s1.positions) + gradient(make_batch({&c2}, {&g2}), s2.positions);
  EXPECT_GT(separate.abs().max().item<double>(), 1e-6);
  EXPECT_LT(max_diff(both, separate), 1e-9 * separate.abs().max().item<double>());
}

TEST(AttentionModes, BatchOfComplexesEqualsSeparateRuns) {
  for (const AttentionMode mode : {AttentionMode::Sparse, AttentionMode::Dense}) {
    SCOPED_TRACE(mode == AttentionMode::Sparse ? "sparse" : "dense");
    ModelConfig config;
    config.attention = mode;
    EPTModel model = test::small_model(config);
    expect_batch_equals_separate_runs(model);
  }
}

}  // namespace
}  // namespace ept
