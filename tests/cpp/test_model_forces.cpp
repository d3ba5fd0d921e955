// Forces of the energy head are −∂E/∂x, and the energy is smooth where pairs cross the cutoff.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "ept/model/evaluator.h"
#include "test_support.h"

namespace ept {
namespace {

using test::evaluate;

// Central differences of the energy against autograd forces, every coordinate of every atom.
void expect_forces_match_finite_differences(EPTModel& model, const Complex& c, const std::vector<Vec3>& x,
                                            const Box& box) {
  const EnergyForces ef = evaluate(model, c, x, box);
  const double h = 1e-5;
  double err2 = 0, norm2 = 0;
  for (size_t i = 0; i < x.size(); ++i)
    for (int k = 0; k < 3; ++k) {
      auto plus = x, minus = x;
      plus[i][k] += h;
      minus[i][k] -= h;
      const double fd = -(evaluate(model, c, plus, box).energy - evaluate(model, c, minus, box).energy) / (2 * h);
      err2 += (fd - ef.forces[i][k]) * (fd - ef.forces[i][k]);
      norm2 += ef.forces[i][k] * ef.forces[i][k];
    }
  EXPECT_GT(norm2, 1e-12);
  EXPECT_LT(std::sqrt(err2 / norm2), 1e-6) << "relative error of autograd forces against finite differences";
}

TEST(Forces, EqualFiniteDifferencesSparse) {
  EPTModel model = test::small_model();
  const Structure s = structure_from_smiles("CC(=O)NC(C)C(=O)NC");
  expect_forces_match_finite_differences(model, build_complex(s.table), s.positions, Box::none());
}

TEST(Forces, EqualFiniteDifferencesDense) {
  ModelConfig config;
  config.attention = AttentionMode::Dense;
  config.cutoff = 3.0;  // most pairs attend to each other without an edge of the graph
  EPTModel model = test::small_model(config);
  const Structure s = structure_from_smiles("c1ccccc1O");
  expect_forces_match_finite_differences(model, build_complex(s.table), s.positions, Box::none());
}

TEST(Forces, EqualFiniteDifferencesPeriodic) {
  EPTModel model = test::small_model();
  Structure s = structure_from_smiles("O.O.CO");
  const Complex c = build_complex(s.table);
  // Put the molecules across the faces of a small triclinic box.
  for (int64_t i = 0; i < c.num_atoms(); ++i) {
    const int64_t seg = c.block_segment[c.atom_block[i]];
    s.positions[i][0] += 4.0 * seg - 1.0;
    s.positions[i][2] += 3.5 * seg;
  }
  expect_forces_match_finite_differences(model, c, s.positions,
                                         Box::triclinic({11.0, 0, 0}, {2.0, 10.6, 0}, {-1.5, 3.0, 11.2}));
}

TEST(Forces, DirectHeadIsNotTheGradient) {
  EPTModel model = test::small_model();
  const Structure s = structure_from_smiles("CCO");
  const Complex c = build_complex(s.table);
  const auto conservative = evaluate(model, c, s.positions, Box::none(), OutputMode::Energy);
  const auto direct = evaluate(model, c, s.positions, Box::none(), OutputMode::Direct);
  EXPECT_DOUBLE_EQ(conservative.energy, direct.energy);
  double diff = 0;
  for (size_t i = 0; i < s.positions.size(); ++i)
    for (int k = 0; k < 3; ++k) diff = std::max(diff, std::abs(conservative.forces[i][k] - direct.forces[i][k]));
  EXPECT_GT(diff, 1e-8);
}

// One atom (an argon, its own segment) moves on a line through a molecule: pairs enter and leave the cutoff.
// Dense attention sees every pair, but the graph's edges (messages, pair bias) still come and go.
class Smoothness : public ::testing::TestWithParam<AttentionMode> {};

TEST_P(Smoothness, EnergyAndSlopeAreContinuousAcrossTheCutoff) {
  ModelConfig config;
  config.cutoff = 4.0;
  config.attention = GetParam();
  EPTModel model = test::small_model(config);
  const Structure s = structure_from_smiles("CCO.[Ar]");
  const Complex c = build_complex(s.table);
  const size_t mover = std::find(s.table.atomic_numbers.begin(), s.table.atomic_numbers.end(), 18) -
                       s.table.atomic_numbers.begin();
  ASSERT_LT(mover, s.positions.size());
  Vec3 centre{0, 0, 0};
  for (size_t i = 0; i < s.positions.size(); ++i)
    if (i != mover)
      for (int k = 0; k < 3; ++k) centre[k] += s.positions[i][k] / static_cast<double>(s.positions.size() - 1);
  const Vec3 dir{0.6, 0.64, 0.48};  // unit vector
  const Vec3 offset{-0.64, 0.6, 0.0};  // perpendicular: the path passes 2.5 Å beside the centre
  auto place = [&](double t) {
    auto x = s.positions;
    for (int k = 0; k < 3; ++k) x[mover][k] = centre[k] + 2.5 * offset[k] + t * dir[k];
    return x;
  };
  auto pair_set = [&](const std::vector<Vec3>& x) {
    std::set<std::pair<int64_t, int64_t>> p;
    for (const auto& q : neighbor_pairs(x, config.cutoff, Box::none()))
      if (q.i == static_cast<int64_t>(mover) || q.j == static_cast<int64_t>(mover)) p.insert({q.i, q.j});
    return p;
  };
  const int samples = 400;
  const double t0 = -9.0, t1 = 9.0, dt = (t1 - t0) / samples, h = 1e-4;
  int crossings = 0;
  double max_slope = 0, worst = 0;
  std::vector<double> energies;
  auto previous_pairs = pair_set(place(t0));
  for (int n = 0; n <= samples; ++n) {
    const double t = t0 + n * dt;
    const auto x = place(t);
    const EnergyForces ef = evaluate(model, c, x);
    const double slope_force = -(ef.forces[mover][0] * dir[0] + ef.forces[mover][1] * dir[1] + ef.forces[mover][2] * dir[2]);
    const double slope_fd = (evaluate(model, c, place(t + h)).energy - evaluate(model, c, place(t - h)).energy) / (2 * h);
    worst = std::max(worst, std::abs(slope_fd - slope_force));
    max_slope = std::max(max_slope, std::abs(slope_force));
    energies.push_back(ef.energy);
    const auto pairs = pair_set(x);
    if (pairs != previous_pairs) ++crossings;
    previous_pairs = pairs;
  }
  // Continuity: no step between neighbouring samples beyond what the largest slope allows.
  for (size_t n = 1; n < energies.size(); ++n)
    EXPECT_LT(std::abs(energies[n] - energies[n - 1]), 2 * max_slope * dt) << "jump at sample " << n;
  EXPECT_GE(crossings, 8) << "the path must cross the cutoff of several pairs";
  EXPECT_GT(max_slope, 1e-6);
  EXPECT_LT(worst, 1e-6 * std::max(1.0, max_slope)) << "finite-difference slope against force along the path";
}

// Two argon atoms, each its own molecule, a hair inside and a hair outside the cutoff: the energy changes by what
// the force says, not by a step (in dense mode a pair bias added on the edges without the envelope would make one).
TEST_P(Smoothness, NoStepWhereAPairCrossesTheCutoff) {
  ModelConfig config;
  config.cutoff = 4.0;
  config.attention = GetParam();
  EPTModel model = test::small_model(config);
  const Complex c = build_complex(structure_from_smiles("[Ar].[Ar]").table);
  const double eps = 1e-7;
  const EnergyForces inside = evaluate(model, c, {{0, 0, 0}, {config.cutoff - eps, 0, 0}});
  const EnergyForces outside = evaluate(model, c, {{0, 0, 0}, {config.cutoff + eps, 0, 0}});
  EXPECT_LT(std::abs(outside.energy - inside.energy), 10 * std::abs(inside.forces[1][0]) * 2 * eps + 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Modes, Smoothness, ::testing::Values(AttentionMode::Sparse, AttentionMode::Dense),
                         [](const auto& info) { return info.param == AttentionMode::Sparse ? "Sparse" : "Dense"; });

// One atom 10⁷ Å (10⁶ nm) from its molecule: in float32 every force stays finite (it was NaN: s⁷ overflowed in
// the envelope of the global-atom pairs and inf · 0 reached the backward pass).
TEST(Forces, AFarAwayAtomLeavesFloat32ForcesFinite) {
  const Structure s = structure_from_smiles("CC(=O)NC");
  const Complex c = build_complex(s.table);
  EPTModel model = test::small_model();
  model->to(torch::kFloat32);
  for (const double d : {1e5, 1e7}) {
    auto x = s.positions;
    x.back()[0] += d;
    const EnergyForces ef = evaluate(model, c, x);
    EXPECT_TRUE(std::isfinite(ef.energy));
    for (size_t i = 0; i < x.size(); ++i)
      for (int k = 0; k < 3; ++k) ASSERT_TRUE(std::isfinite(ef.forces[i][k])) << "atom " << i << " at d = " << d;
  }
}

}  // namespace
}  // namespace ept
