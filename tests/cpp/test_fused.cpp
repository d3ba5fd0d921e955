// The fused pair kernels (ept/model/fused.h) give what the reference LibTorch ops give: energies, autograd forces, the
// direct head, features, and gradients with respect to every parameter, in float64 and float32, for sparse,
// periodic, dense (fused geometry and embedding; dense attention is matrix products on both paths) and
// multi-complex batches; second derivatives through them are refused by name.
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include "ept/error.h"
#include "ept/model/evaluator.h"
#include "test_support.h"

namespace ept {
namespace {

struct Case {
  std::vector<const Complex*> complexes;
  std::vector<std::vector<Vec3>> positions;
  GraphOptions options;
};

struct Result {
  std::vector<torch::Tensor> values;  // energy, forces, scalars, vectors, direct head, parameter gradients…
};

Result run(EPTModel& model, const Case& c, bool fused) {
  model->set_fused(fused);
  const torch::Dtype dtype = model_dtype(model);
  Collated batch = collate(c.complexes, c.positions, c.options, dtype);
  auto x = batch.positions.clone().set_requires_grad(true);
  for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
  const ModelOutput out = model->forward(batch.batch, x);
  // A loss that reaches every output the kernels feed: energies, features and the direct head.
  const auto loss = out.energy.sum() + 0.1 * out.scalars.pow(2).sum() + 0.1 * out.vectors.pow(2).sum() +
                    0.1 * out.force.pow(2).sum();
  const auto forces = -torch::autograd::grad({out.energy.sum()}, {x}, {}, /*retain_graph=*/true)[0];
  loss.backward();
  Result r;
  r.values = {out.energy.detach(), forces, out.scalars.detach(), out.vectors.detach(), out.force.detach()};
  for (auto& p : model->parameters()) r.values.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  model->set_fused(false);
  return r;
}

void expect_same(EPTModel& model, const Case& c, double tolerance) {
  const Result fused = run(model, c, true), reference = run(model, c, false);
  ASSERT_EQ(fused.values.size(), reference.values.size());
  double largest_gradient = 0;
  for (size_t k = 5; k < reference.values.size(); ++k)
    largest_gradient = std::max(largest_gradient, reference.values[k].abs().max().item<double>());
  ASSERT_GT(largest_gradient, 0);
  for (size_t k = 0; k < fused.values.size(); ++k) {
    const auto a = fused.values[k].to(torch::kFloat64), b = reference.values[k].to(torch::kFloat64);
    const double scale = b.abs().max().item<double>();
    const std::string what = "output " + std::to_string(k) +
                             " (0 energy, 1 forces, 2 scalars, 3 vectors, 4 direct head, then parameter gradients)";
    // Some gradients vanish by symmetry (the key bias and the pair-bias offset shift every logit of a receiver
    // alike, and softmax ignores that): both paths must give rounding noise there.
    if (k >= 5 && scale < 1e-6 * largest_gradient) {
      EXPECT_LT(a.abs().max().item<double>(), 1e-6 * largest_gradient) << what;
      continue;
    }
    EXPECT_LE((a - b).abs().max().item<double>() / scale, tolerance) << what;
  }
}

struct Systems {
  Structure peptide = structure_from_smiles("CC(=O)NC(C)C(=O)NC.O.O");
  Structure small = structure_from_smiles("CCO.O");
  Complex peptide_complex = build_complex(peptide.table);
  Complex small_complex = build_complex(small.table);
};

TEST(Fused, MatchesReferenceSparseFloat64AndFloat32) {
  Systems s;
  EPTModel model = test::small_model();
  ModelConfig config = model->config();
  Case c{{&s.peptide_complex}, {s.peptide.positions}, config.graph_options()};
  expect_same(model, c, 1e-10);
  model->to(torch::kFloat32);
  expect_same(model, c, 1e-5);
}

TEST(Fused, MatchesReferenceForABatchOfComplexes) {
  Systems s;
  EPTModel model = test::small_model();
  Case c{{&s.peptide_complex, &s.small_complex, &s.peptide_complex},
         {s.peptide.positions, s.small.positions, s.peptide.positions},
         model->config().graph_options()};
  expect_same(model, c, 1e-10);
}

TEST(Fused, MatchesReferenceInATriclinicBox) {
  Systems s;
  EPTModel model = test::small_model();
  auto x = s.small.positions;
  for (auto& p : x) p[0] += 5.2;  // across a face
  Case c{{&s.small_complex}, {x}, model->config().graph_options(Box::triclinic({11.0, 0, 0}, {2.0, 10.6, 0}, {-1.5, 3.0, 11.2}))};
  expect_same(model, c, 1e-10);
}

TEST(Fused, MatchesReferenceDenseWithAndWithoutEnvelope) {
  Systems s;
  ModelConfig config;
  config.attention = AttentionMode::Dense;
  EPTModel dense = test::small_model(config);
  expect_same(dense, {{&s.peptide_complex}, {s.peptide.positions}, dense->config().graph_options()}, 1e-10);
  config.attention = AttentionMode::Sparse;
  config.envelope = false;
  EPTModel bare = test::small_model(config);
  expect_same(bare, {{&s.peptide_complex}, {s.peptide.positions}, bare->config().graph_options()}, 1e-10);
}

TEST(Fused, SecondDerivativesAreRefusedByName) {
  Systems s;
  EPTModel model = test::small_model();
  model->set_fused(true);
  Collated batch = collate({&s.small_complex}, {s.small.positions}, model->config().graph_options(), torch::kFloat64);
  auto x = batch.positions.clone().set_requires_grad(true);
  const auto energy = model->forward(batch.batch, x).energy.sum();
  try {
    torch::autograd::grad({energy}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true);
    FAIL() << "a second-order graph through the fused kernels was built";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("set_fused(false)"), std::string::npos) << e.what();
  }
}

TEST(Fused, PairRowsListEveryPairOnceAndReversesPairUp) {
  Systems s;
  Collated batch = collate({&s.peptide_complex, &s.small_complex}, {s.peptide.positions, s.small.positions},
                           GraphOptions{}, torch::kFloat64);
  const Batch& b = batch.batch;
  const auto receiver = b.receiver, sender = b.sender, rows = b.row_pairs, start = b.row_start, rev = b.reverse_pair;
  const int64_t P = receiver.size(0);
  ASSERT_EQ(start[b.num_atoms].item<int64_t>(), P);
  EXPECT_TRUE(std::get<0>(torch::sort(rows)).equal(torch::arange(P)));  // a permutation of the pairs
  for (int64_t a = 0; a < b.num_atoms; ++a)
    for (int64_t n = start[a].item<int64_t>(); n < start[a + 1].item<int64_t>(); ++n)
      ASSERT_EQ(receiver[rows[n]].item<int64_t>(), a);
  EXPECT_TRUE(receiver.index_select(0, rev).equal(sender));
  EXPECT_TRUE(sender.index_select(0, rev).equal(receiver));
  EXPECT_TRUE(rev.index_select(0, rev).equal(torch::arange(P)));
}

}  // namespace
}  // namespace ept
