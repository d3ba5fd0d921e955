#pragma once
// The isotropic Gaussian on SO(3), IGSO(3): rotation angles ω with density
//   f(ω) ∝ (1 − cos ω)/π · Σ_l (2l+1) e^{−l(l+1)σ²} sin((l+½)ω) / sin(ω/2),   ω ∈ [0, π],
// tabulated once per σ and sampled by inverse CDF; the axis is uniform on the sphere.
#include <random>
#include <vector>

#include "ept/model/neighbors.h"

namespace ept {

class IGSO3 {
 public:
  /// Tabulates the angle density for `sigma` (> 0) on `grid` points of [0, π].
  explicit IGSO3(double sigma, int grid = 8192);
  double sigma() const { return sigma_; }
  /// Normalised density of the angle at ω (linear interpolation of the table).
  double density(double omega) const;
  /// P(angle ≤ ω).
  double cdf(double omega) const;
  double sample_angle(std::mt19937_64& rng) const;
  /// A rotation vector ω·u (axis u uniform on the sphere).
  Vec3 sample(std::mt19937_64& rng) const;

 private:
  double sigma_;
  std::vector<double> omega_, density_, cdf_;
};

/// R(w) = exp([w]×) by Rodrigues' formula, applied to v.
Vec3 rotate(const Vec3& w, const Vec3& v);

}  // namespace ept
