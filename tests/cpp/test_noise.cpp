// Denoising objectives: the ideal predictor recovers every target exactly, the read-outs undo rigid block
// noise, and IGSO(3) samples follow the heat kernel on SO(3).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "ept/error.h"
#include "ept/training/noise.h"
#include "test_support.h"

namespace ept {
namespace {

struct Case {
  Complex complex;
  std::vector<Vec3> clean;  // centred on the atom mean
};

Case molecule(const std::string& smiles) {
  const Structure s = structure_from_smiles(smiles);
  Case c{build_complex(s.table), s.positions};
  Vec3 mean{0, 0, 0};
  for (const auto& p : c.clean)
    for (int d = 0; d < 3; ++d) mean[d] += p[d] / c.clean.size();
  for (auto& p : c.clean)
    for (int d = 0; d < 3; ++d) p[d] -= mean[d];
  return c;
}

torch::Tensor rows(const std::vector<Vec3>& v) { return test::to_tensor(v); }

// The ideal prediction for block noise: the rigid motion that undoes it, f_i = s_tr + s_rot × r̃_i.
torch::Tensor ideal_prediction(const Case& c, const Perturbation& p) {
  const auto blocks = torch::tensor(c.complex.atom_block);
  const auto noisy = rows(p.noisy);
  const auto nb = c.complex.num_blocks();
  const auto count = torch::zeros({nb}, torch::kFloat64).index_add(0, blocks, torch::ones({noisy.size(0)}, torch::kFloat64));
  const auto centroid = torch::zeros({nb, 3}, torch::kFloat64).index_add(0, blocks, noisy) / count.unsqueeze(-1);
  const auto arm = noisy - centroid.index_select(0, blocks);
  return rows(p.translation_target).index_select(0, blocks) +
         torch::cross(rows(p.rotation_target).index_select(0, blocks), arm, -1);
}

TEST(Noise, CompleteBlockReadoutsInvertRigidNoise) {
  const Case c = molecule("CC(C)CCC(C)(C)CC(=O)NC");  // CH3 and CH2 blocks rotate; C-H, N-H, O, N do not
  NoiseConfig config;
  config.sigma_rotation = 0.3;
  const Noise noise(config);
  std::mt19937_64 rng(1);
  const Perturbation p = noise.perturb(c.complex, c.clean, rng);
  const auto blocks = torch::tensor(c.complex.atom_block);
  const auto rotatable = torch::tensor(std::vector<int64_t>(p.rotatable.begin(), p.rotatable.end())).to(torch::kBool);
  const int64_t nb = c.complex.num_blocks();
  ASSERT_GT(rotatable.sum().item<int64_t>(), 5);
  const auto f = ideal_prediction(c, p);
  const auto [t, w] = block_readout(f, rows(p.noisy), blocks, nb, rotatable);
  EXPECT_LT((t - rows(p.translation_target)).abs().max().item<double>(), 1e-10);
  const auto mask = rotatable.unsqueeze(-1).to(torch::kFloat64);
  EXPECT_LT(((w - rows(p.rotation_target)) * mask).abs().max().item<double>(), 1e-10);
  const DenoisingTargets targets{torch::Tensor(), rows(p.translation_target), rows(p.rotation_target), rotatable};
  EXPECT_LT(denoising_loss(Objective::CompleteBlock, f, rows(p.noisy), blocks, nb, targets).item<double>(), 1e-20);
  // Undo the noise with the read-outs: x = c̃_b + σ t̂_b + R(ω̂_b)(x̃ − c̃_b) for every rotatable block.
  std::vector<Vec3> centroid(nb, Vec3{0, 0, 0});
  std::vector<double> count(nb, 0);
  for (size_t i = 0; i < p.noisy.size(); ++i) {
    for (int d = 0; d < 3; ++d) centroid[c.complex.atom_block[i]][d] += p.noisy[i][d];
    count[c.complex.atom_block[i]] += 1;
  }
  int checked = 0;
  double rotated = 0;
  for (size_t i = 0; i < p.noisy.size(); ++i) {
    const int64_t b = c.complex.atom_block[i];
    if (!p.rotatable[b]) continue;
    const Vec3 cb{centroid[b][0] / count[b], centroid[b][1] / count[b], centroid[b][2] / count[b]};
    const Vec3 wb{w[b][0].item<double>(), w[b][1].item<double>(), w[b][2].item<double>()};
    const Vec3 r = rotate(wb, {p.noisy[i][0] - cb[0], p.noisy[i][1] - cb[1], p.noisy[i][2] - cb[2]});
    for (int d = 0; d < 3; ++d) {
      const double back = cb[d] + config.sigma_translation * t[b][d].item<double>() + r[d];
      EXPECT_NEAR(back, c.clean[i][d], 1e-10) << "atom " << i;
      rotated = std::max(rotated, std::abs(p.noisy[i][d] - c.clean[i][d]));
    }
    ++checked;
  }
  EXPECT_GT(checked, 8);
  EXPECT_GT(rotated, 0.05) << "the noise must move atoms";
  // Translation targets have zero atom-weighted mean (the model cannot see an overall shift).
  Vec3 weighted{0, 0, 0};
  for (int64_t b = 0; b < nb; ++b)
    for (int d = 0; d < 3; ++d) weighted[d] += count[b] * p.translation_target[b][d];
  for (int d = 0; d < 3; ++d) EXPECT_NEAR(weighted[d], 0, 1e-9);
}

TEST(Noise, TranslationAndAtomObjectivesAreRecoveredByTheIdealPredictor) {
  const Case c = molecule("CCOC(=O)c1ccccn1");
  const auto blocks = torch::tensor(c.complex.atom_block);
  const int64_t nb = c.complex.num_blocks();
  std::mt19937_64 rng(2);
  {
    NoiseConfig config;
    config.objective = Objective::BlockTranslation;
    const Perturbation p = Noise(config).perturb(c.complex, c.clean, rng);
    for (const auto& w : p.rotation_target) EXPECT_EQ(w, (Vec3{0, 0, 0}));
    const auto f = rows(p.translation_target).index_select(0, blocks);
    const DenoisingTargets targets{torch::Tensor(), rows(p.translation_target), rows(p.rotation_target),
                                   torch::zeros({nb}, torch::kBool)};
    EXPECT_LT(denoising_loss(Objective::BlockTranslation, f, rows(p.noisy), blocks, nb, targets).item<double>(), 1e-20);
    // x = x̃ + σ t̂_b: blocks move rigidly.
    for (size_t i = 0; i < p.noisy.size(); ++i)
      for (int d = 0; d < 3; ++d)
        EXPECT_NEAR(p.noisy[i][d] + config.sigma_translation * p.translation_target[c.complex.atom_block[i]][d],
                    c.clean[i][d], 1e-10);
  }
  {
    NoiseConfig config;
    config.objective = Objective::Atom;
    const Perturbation p = Noise(config).perturb(c.complex, c.clean, rng);
    const DenoisingTargets targets{rows(p.atom_target), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    EXPECT_LT(denoising_loss(Objective::Atom, rows(p.atom_target), rows(p.noisy), blocks, nb, targets).item<double>(), 1e-20);
    EXPECT_GT(denoising_loss(Objective::Atom, torch::zeros({c.complex.num_atoms(), 3}, torch::kFloat64), rows(p.noisy),
                             blocks, nb, targets).item<double>(), 0.1);
    for (size_t i = 0; i < p.noisy.size(); ++i)
      for (int d = 0; d < 3; ++d)
        EXPECT_NEAR(p.noisy[i][d] + config.sigma_translation * p.atom_target[i][d], c.clean[i][d], 1e-10);
  }
  EXPECT_THROW(objective_from_name("rotation"), InputError);
}

// Rotation angle of the composition of many small isotropic Gaussian rotations: Brownian motion on SO(3),
// independent of the series the sampler tabulates. The heat kernel e^{tΔ} (Δ with eigenvalues −l(l+1)) at
// t = σ² is reached by Lie-algebra increments of covariance 2σ²/steps per component.
double brownian_angle(double sigma, int steps, std::mt19937_64& rng) {
  std::normal_distribution<double> n(0.0, sigma * std::sqrt(2.0 / steps));
  double q[4] = {1, 0, 0, 0};
  for (int s = 0; s < steps; ++s) {
    const double v[3] = {n(rng), n(rng), n(rng)};
    const double angle = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    const double h = std::sin(angle / 2) / angle;
    const double r[4] = {std::cos(angle / 2), v[0] * h, v[1] * h, v[2] * h};
    const double out[4] = {q[0] * r[0] - q[1] * r[1] - q[2] * r[2] - q[3] * r[3],
                           q[0] * r[1] + q[1] * r[0] + q[2] * r[3] - q[3] * r[2],
                           q[0] * r[2] - q[1] * r[3] + q[2] * r[0] + q[3] * r[1],
                           q[0] * r[3] + q[1] * r[2] - q[2] * r[1] + q[3] * r[0]};
    std::copy(out, out + 4, q);
  }
  return 2 * std::acos(std::min(1.0, std::abs(q[0])));
}

TEST(IGSO3, SamplesMatchTheTabulatedDensityAndBrownianMotionOnSO3) {
  for (const double sigma : {0.1, 0.5, 1.0}) {
    const IGSO3 igso3(sigma);
    std::mt19937_64 rng(42);
    const int n = 40000;
    std::vector<double> sampled(n), brownian(n);
    for (auto& a : sampled) a = igso3.sample_angle(rng);
    for (auto& a : brownian) a = brownian_angle(sigma, 64, rng);
    std::sort(sampled.begin(), sampled.end());
    std::sort(brownian.begin(), brownian.end());
    // One-sample Kolmogorov–Smirnov distance to the tabulated CDF, and two-sample distance to Brownian motion.
    double d_table = 0, d_brownian = 0;
    for (int k = 0; k < n; ++k) {
      d_table = std::max(d_table, std::abs(igso3.cdf(sampled[k]) - (k + 0.5) / n));
      const double other = static_cast<double>(std::upper_bound(brownian.begin(), brownian.end(), sampled[k]) -
                                               brownian.begin()) / n;
      d_brownian = std::max(d_brownian, std::abs(other - (k + 1.0) / n));
    }
    // 99.9% critical values: 1.95/√n = 0.0098 (one sample), 1.95·√(2/n) = 0.0138 (two samples).
    EXPECT_LT(d_table, 0.0098) << "σ = " << sigma;
    EXPECT_LT(d_brownian, 0.0138) << "σ = " << sigma;
  }
  // The density integrates to one, and small σ concentrates it near zero.
  const IGSO3 narrow(0.1);
  double integral = 0;
  for (int k = 0; k < 10000; ++k) integral += narrow.density((k + 0.5) * M_PI / 10000) * M_PI / 10000;
  EXPECT_NEAR(integral, 1.0, 1e-3);
  EXPECT_GT(narrow.cdf(0.6), 0.99);
  EXPECT_THROW(IGSO3(0.0), InputError);
}

}  // namespace
}  // namespace ept
