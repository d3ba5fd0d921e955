#include "ept/training/igso3.h"

#include <algorithm>
#include <cmath>

#include "ept/error.h"

namespace ept {

IGSO3::IGSO3(double sigma, int grid) : sigma_(sigma) {
  if (!(sigma > 0) || !std::isfinite(sigma)) throw InputError("IGSO(3): sigma must be positive and finite");
  if (grid < 16) throw InputError("IGSO(3): the table needs at least 16 points");
  // Enough terms that e^{−l(l+1)σ²} has fallen below 1e-16 (at least 8).
  const int terms = std::max(8, static_cast<int>(std::ceil(std::sqrt(37.0 / (sigma * sigma)))) + 2);
  omega_.resize(grid);
  density_.resize(grid);
  for (int k = 0; k < grid; ++k) {
    const double w = M_PI * k / (grid - 1);
    omega_[k] = w;
    double series = 0;
    for (int l = 0; l < terms; ++l) {
      const double weight = (2 * l + 1) * std::exp(-l * (l + 1) * sigma * sigma);
      // sin((l+½)ω)/sin(ω/2) → 2l+1 as ω → 0.
      const double character = w < 1e-12 ? 2 * l + 1 : std::sin((l + 0.5) * w) / std::sin(0.5 * w);
      series += weight * character;
    }
    density_[k] = std::max(0.0, (1 - std::cos(w)) / M_PI * series);
  }
  cdf_.assign(grid, 0.0);
  for (int k = 1; k < grid; ++k)
    cdf_[k] = cdf_[k - 1] + 0.5 * (density_[k] + density_[k - 1]) * (omega_[k] - omega_[k - 1]);
  const double total = cdf_.back();
  for (int k = 0; k < grid; ++k) {
    cdf_[k] /= total;
    density_[k] /= total;
  }
}

double IGSO3::density(double omega) const {
  if (omega <= 0 || omega >= M_PI) return 0;
  const double x = omega / M_PI * (omega_.size() - 1);
  const size_t k = std::min(static_cast<size_t>(x), omega_.size() - 2);
  const double t = x - k;
  return (1 - t) * density_[k] + t * density_[k + 1];
}

double IGSO3::cdf(double omega) const {
  if (omega <= 0) return 0;
  if (omega >= M_PI) return 1;
  const double x = omega / M_PI * (omega_.size() - 1);
  const size_t k = std::min(static_cast<size_t>(x), omega_.size() - 2);
  const double t = x - k;
  return (1 - t) * cdf_[k] + t * cdf_[k + 1];
}

double IGSO3::sample_angle(std::mt19937_64& rng) const {
  const double u = std::uniform_real_distribution<double>(0, 1)(rng);
  const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
  if (it == cdf_.begin()) return 0;
  if (it == cdf_.end()) return M_PI;
  const size_t k = static_cast<size_t>(it - cdf_.begin());
  const double span = cdf_[k] - cdf_[k - 1];
  const double t = span > 0 ? (u - cdf_[k - 1]) / span : 0;
  return omega_[k - 1] + t * (omega_[k] - omega_[k - 1]);
}

Vec3 IGSO3::sample(std::mt19937_64& rng) const {
  std::normal_distribution<double> n;
  Vec3 axis{n(rng), n(rng), n(rng)};
  const double norm = std::sqrt(axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]);
  const double angle = sample_angle(rng);
  return {angle * axis[0] / norm, angle * axis[1] / norm, angle * axis[2] / norm};
}

Vec3 rotate(const Vec3& w, const Vec3& v) {
  const double angle = std::sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
  if (angle < 1e-15) return v;
  const Vec3 k{w[0] / angle, w[1] / angle, w[2] / angle};
  const double c = std::cos(angle), s = std::sin(angle);
  const double kv = k[0] * v[0] + k[1] * v[1] + k[2] * v[2];
  const Vec3 kxv{k[1] * v[2] - k[2] * v[1], k[2] * v[0] - k[0] * v[2], k[0] * v[1] - k[1] * v[0]};
  Vec3 out{};
  for (int d = 0; d < 3; ++d) out[d] = v[d] * c + kxv[d] * s + k[d] * kv * (1 - c);
  return out;
}

}  // namespace ept
