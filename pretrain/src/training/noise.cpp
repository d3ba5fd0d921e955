#include "ept/training/noise.h"

#include <cmath>

#include "ept/error.h"

namespace ept {
namespace {

Vec3 sub(const Vec3& a, const Vec3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }

// Whether Σ(|r|² 1 − r rᵀ) of the block is invertible: at least two atoms off a common line through the centroid.
bool inertia_invertible(const std::vector<Vec3>& r) {
  double m[3][3] = {};
  for (const auto& v : r) {
    const double n2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) m[a][b] += (a == b ? n2 : 0) - v[a] * v[b];
  }
  const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                     m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const double trace = m[0][0] + m[1][1] + m[2][2];
  return trace > 0 && det > 1e-6 * trace * trace * trace;
}

}  // namespace

Objective objective_from_name(const std::string& name) {
  if (name == "atom") return Objective::Atom;
  if (name == "translation") return Objective::BlockTranslation;
  if (name == "complete") return Objective::CompleteBlock;
  throw InputError("unknown objective '" + name + "' (use atom, translation or complete)");
}

Noise::Noise(const NoiseConfig& config) : config_(config), igso3_(config.sigma_rotation) {
  if (!(config.sigma_translation > 0)) throw InputError("the translation noise σ must be positive");
}

Perturbation Noise::perturb(const Complex& c, const std::vector<Vec3>& clean, std::mt19937_64& rng) const {
  const int64_t n = c.num_atoms(), nb = c.num_blocks();
  if (static_cast<int64_t>(clean.size()) != n)
    throw InputError("perturb: " + std::to_string(clean.size()) + " positions for " + std::to_string(n) + " atoms");
  std::normal_distribution<double> gauss;
  const double st = config_.sigma_translation;
  // 1. Centre on the mean of the atoms.
  Vec3 mean{0, 0, 0};
  for (const auto& p : clean)
    for (int d = 0; d < 3; ++d) mean[d] += p[d] / static_cast<double>(n);
  std::vector<Vec3> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = sub(clean[i], mean);
  std::vector<Vec3> centroid(nb, Vec3{0, 0, 0});
  std::vector<double> count(nb, 0);
  for (int64_t i = 0; i < n; ++i) {
    for (int d = 0; d < 3; ++d) centroid[c.atom_block[i]][d] += x[i][d];
    count[c.atom_block[i]] += 1;
  }
  for (int64_t b = 0; b < nb; ++b)
    for (int d = 0; d < 3; ++d) centroid[b][d] /= count[b];

  Perturbation p;
  p.noisy.resize(n);
  p.atom_target.assign(n, Vec3{0, 0, 0});
  p.translation_target.assign(nb, Vec3{0, 0, 0});
  p.rotation_target.assign(nb, Vec3{0, 0, 0});
  p.rotatable.assign(nb, 0);
  if (config_.objective == Objective::Atom) {
    // Each atom its own Gaussian, mean-centred so the noise does not move the whole molecule.
    std::vector<Vec3> eps(n);
    Vec3 eps_mean{0, 0, 0};
    for (auto& e : eps) {
      e = {gauss(rng), gauss(rng), gauss(rng)};
      for (int d = 0; d < 3; ++d) eps_mean[d] += e[d] / static_cast<double>(n);
    }
    for (int64_t i = 0; i < n; ++i) {
      eps[i] = sub(eps[i], eps_mean);
      for (int d = 0; d < 3; ++d) {
        p.noisy[i][d] = x[i][d] + st * eps[i][d];
        p.atom_target[i][d] = -eps[i][d];
      }
    }
  } else {
    // 2. Each block: rotate about its centroid (complete objective), then translate by σ_tr ε_b.
    std::vector<Vec3> w(nb, Vec3{0, 0, 0}), shift(nb);
    for (int64_t b = 0; b < nb; ++b) {
      if (config_.objective == Objective::CompleteBlock) w[b] = igso3_.sample(rng);
      shift[b] = {st * gauss(rng), st * gauss(rng), st * gauss(rng)};
    }
    for (int64_t i = 0; i < n; ++i) {
      const int64_t b = c.atom_block[i];
      const Vec3 r = rotate(w[b], sub(x[i], centroid[b]));
      for (int d = 0; d < 3; ++d) p.noisy[i][d] = centroid[b][d] + r[d] + shift[b][d];
    }
    // Re-centre, then targets in the frame of x̃.
    Vec3 noisy_mean{0, 0, 0};
    for (const auto& q : p.noisy)
      for (int d = 0; d < 3; ++d) noisy_mean[d] += q[d] / static_cast<double>(n);
    for (auto& q : p.noisy) q = sub(q, noisy_mean);
    std::vector<std::vector<Vec3>> arms(nb);
    for (int64_t b = 0; b < nb; ++b) {
      const Vec3 noisy_centroid = sub({centroid[b][0] + shift[b][0], centroid[b][1] + shift[b][1],
                                       centroid[b][2] + shift[b][2]}, noisy_mean);
      // Both conformations are centred on their own atom mean: the model, being translation invariant, can
      // only see relative displacements, and these targets have zero atom-weighted mean.
      for (int d = 0; d < 3; ++d) {
        p.translation_target[b][d] = (centroid[b][d] - noisy_centroid[d]) / st;
        p.rotation_target[b][d] = -w[b][d];
      }
    }
    for (int64_t i = 0; i < n; ++i) {
      const int64_t b = c.atom_block[i];
      arms[b].push_back(sub(x[i], centroid[b]));
    }
    for (int64_t b = 0; b < nb; ++b) p.rotatable[b] = inertia_invertible(arms[b]) ? 1 : 0;
  }
  return p;
}

std::pair<torch::Tensor, torch::Tensor> block_readout(const torch::Tensor& f, const torch::Tensor& noisy,
                                                      const torch::Tensor& atom_block, int64_t num_blocks,
                                                      const torch::Tensor& rotatable) {
  const auto options = f.options();
  const auto count = torch::zeros({num_blocks}, options).index_add(0, atom_block, torch::ones({f.size(0)}, options));
  const auto mean = [&](const torch::Tensor& v) {
    return torch::zeros({num_blocks, 3}, options).index_add(0, atom_block, v) / count.clamp_min(1).unsqueeze(-1);
  };
  const auto translation = mean(f);
  const auto arm = noisy - mean(noisy).index_select(0, atom_block);  // r̃_i
  const auto torque = torch::zeros({num_blocks, 3}, options).index_add(0, atom_block, torch::cross(arm, f, -1));
  const auto eye = torch::eye(3, options);
  const auto outer = arm.unsqueeze(-1) * arm.unsqueeze(-2);                            // r rᵀ
  const auto per_atom = arm.pow(2).sum(-1).view({-1, 1, 1}) * eye - outer;             // |r|² 1 − r rᵀ
  auto inertia = torch::zeros({num_blocks, 3, 3}, options).index_add(0, atom_block, per_atom);
  // Singular blocks get the identity so that the solve is defined; their read-out is then zeroed.
  const auto mask = rotatable.to(options.dtype()).view({-1, 1, 1});
  inertia = inertia * mask + eye * (1 - mask);
  const auto omega = torch::linalg_solve(inertia, torque.unsqueeze(-1)).squeeze(-1) * mask.view({-1, 1});
  return {translation, omega};
}

torch::Tensor denoising_loss(Objective objective, const torch::Tensor& f, const torch::Tensor& noisy,
                             const torch::Tensor& atom_block, int64_t num_blocks, const DenoisingTargets& t) {
  if (objective == Objective::Atom) return (f - t.atom).pow(2).sum(-1).mean();
  const auto [translation, omega] = block_readout(f, noisy, atom_block, num_blocks, t.rotatable);
  auto loss = (translation - t.translation).pow(2).sum(-1).mean();
  if (objective == Objective::CompleteBlock) {
    const auto mask = t.rotatable.to(f.scalar_type());
    loss = loss + ((omega - t.rotation).pow(2).sum(-1) * mask).sum() / mask.sum().clamp_min(1);
  }
  return loss;
}

}  // namespace ept
