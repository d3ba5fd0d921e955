// Symmetries of the network in float64: rigid motions leave invariants unchanged and rotate vectors; permuting
// atoms permutes per-atom outputs; lattice shifts in periodic boxes change nothing.
#include <gtest/gtest.h>

#include <numeric>

#include "ept/model/batch.h"
#include "ept/model/graph.h"
#include "ept/model/model.h"
#include "test_support.h"

namespace ept {
namespace {

ModelOutput run(EPTModel& model, const Complex& c, const std::vector<Vec3>& x, const Box& box = Box::none()) {
  const Graph g = build_graph(c, x, model->config().graph_options(box));
  const Batch b = make_batch({&c}, {&g});
  return model->forward(b, test::to_tensor(x));
}

double relative(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1e-12, b.abs().max().item<double>());
}

class Symmetry : public ::testing::TestWithParam<AttentionMode> {};

TEST_P(Symmetry, RigidMotionLeavesInvariantsAndRotatesVectors) {
  ModelConfig config;
  config.attention = GetParam();
  EPTModel model = test::small_model(config);
  const Structure s = structure_from_smiles("CC(=O)NC(C)C(=O)NC.O");
  const Complex c = build_complex(s.table);
  std::mt19937_64 rng(11);
  const ModelOutput a = run(model, c, s.positions);
  for (int trial = 0; trial < 3; ++trial) {
    const auto R = test::random_rotation(rng);
    const Vec3 t{3.0 * trial - 2.5, 7.1, -4.2};
    const ModelOutput b = run(model, c, test::rigid_motion(s.positions, R, t));
    EXPECT_LT(relative(b.energy, a.energy), 1e-9);
    EXPECT_LT(relative(b.scalars, a.scalars), 1e-9);
    EXPECT_LT(relative(b.block_embedding, a.block_embedding), 1e-9);
    const auto Rt = test::rotation_tensor(R);
    EXPECT_LT(relative(b.force, a.force.matmul(Rt.t())), 1e-9);
    EXPECT_LT(relative(b.vectors, torch::einsum("kl,alc->akc", {Rt, a.vectors})), 1e-9);
  }
  // The outputs are not trivially constant.
  EXPECT_GT(a.force.abs().max().item<double>(), 1e-6);
  EXPECT_GT(a.vectors.abs().max().item<double>(), 1e-6);
}

TEST_P(Symmetry, PermutingAtomsPermutesOutputs) {
  ModelConfig config;
  config.attention = GetParam();
  EPTModel model = test::small_model(config);
  const Structure s = read_pdb(test::fixture("peptide_AGS.pdb"));
  const int64_t n = static_cast<int64_t>(s.table.size());
  // A permutation that keeps each residue's atoms contiguous (residues are runs of atoms) but shuffles inside.
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937_64 rng(5);
  for (int64_t start = 0; start < n;) {
    int64_t end = start;
    while (end < n && s.table.residue_ids[end] == s.table.residue_ids[start]) ++end;
    std::shuffle(perm.begin() + start, perm.begin() + end, rng);
    start = end;
  }
  Structure p;  // atom k of p is atom perm[k] of s
  std::vector<int64_t> inverse(n);
  for (int64_t k = 0; k < n; ++k) inverse[perm[k]] = k;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = perm[k];
    p.table.atomic_numbers.push_back(s.table.atomic_numbers[i]);
    p.table.atom_names.push_back(s.table.atom_names[i]);
    p.table.residue_names.push_back(s.table.residue_names[i]);
    p.table.residue_ids.push_back(s.table.residue_ids[i]);
    p.table.chain_ids.push_back(s.table.chain_ids[i]);
    p.positions.push_back(s.positions[i]);
  }
  for (auto [a, b] : s.table.bonds) p.table.bonds.push_back({inverse[a], inverse[b]});
  const ModelOutput a = run(model, build_complex(s.table), s.positions);
  const ModelOutput b = run(model, build_complex(p.table), p.positions);
  const auto index = torch::tensor(perm);
  EXPECT_LT(relative(b.energy, a.energy), 1e-12);
  EXPECT_LT(relative(b.force, a.force.index_select(0, index)), 1e-10);
  EXPECT_LT(relative(b.scalars.slice(0, 0, n), a.scalars.slice(0, 0, n).index_select(0, index)), 1e-10);
}

INSTANTIATE_TEST_SUITE_P(Modes, Symmetry, ::testing::Values(AttentionMode::Sparse, AttentionMode::Dense),
                         [](const auto& info) { return info.param == AttentionMode::Sparse ? "Sparse" : "Dense"; });

TEST(PeriodicSymmetry, LatticeShiftsOfAtomsChangeNothing) {
  EPTModel model = test::small_model();
  // Four waters and a methanol, spread over a triclinic box so that pairs cross its faces.
  const Structure s = structure_from_smiles("O.O.O.O.CO");
  std::vector<Vec3> x = s.positions;
  const Box box = Box::triclinic({12.5, 0, 0}, {3.0, 12.0, 0}, {-2.0, 4.0, 12.8});
  const Complex c = build_complex(s.table);
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<double> u(0, 1);
  for (int64_t seg = 0; seg < c.num_segments; ++seg) {  // move each molecule to a random place
    const Vec3 t{12 * u(rng), 12 * u(rng), 12 * u(rng)};
    for (int64_t i = 0; i < c.num_atoms(); ++i)
      if (c.block_segment[c.atom_block[i]] == seg)
        for (int k = 0; k < 3; ++k) x[i][k] += t[k];
  }
  const ModelOutput a = run(model, c, x, box);
  std::uniform_int_distribution<int> image(-2, 2);
  auto y = x;
  for (auto& p : y) {
    const int na = image(rng), nb = image(rng), nc = image(rng);
    for (int k = 0; k < 3; ++k) p[k] += na * box.vectors[0][k] + nb * box.vectors[1][k] + nc * box.vectors[2][k];
  }
  const ModelOutput b = run(model, c, y, box);
  EXPECT_LT(relative(b.energy, a.energy), 1e-10);
  EXPECT_LT(relative(b.force, a.force), 1e-9);
  EXPECT_LT(relative(b.scalars, a.scalars), 1e-9);
  // Interactions across the faces exist: the isolated system gives another energy.
  const ModelOutput isolated = run(model, c, x);
  EXPECT_GT(relative(isolated.energy, a.energy), 1e-6);
}

}  // namespace
}  // namespace ept
