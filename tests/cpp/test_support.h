#pragma once
// Helpers shared by the C++ tests: small models, random rigid motions, fixture paths.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ept/model/evaluator.h"
#include "ept/model/model.h"
#include "ept/model/neighbors.h"
#include "ept/chemistry/rdkit_structure.h"

namespace ept::test {

/// One evaluation through the library's Evaluator, in the model's own dtype.
inline EnergyForces evaluate(EPTModel& model, const Complex& complex, const std::vector<Vec3>& positions,
                             const Box& box = Box::none(), OutputMode mode = OutputMode::Energy) {
  Evaluator evaluator(model, complex, {model_dtype(model)});
  evaluator.set_positions(positions, box);
  return evaluator.compute(mode);
}

inline std::string fixture(const std::string& name) { return std::string(EPT_FIXTURE_DIR) + "/" + name; }

/// A small float64 model; distinct seeds give distinct weights.
inline EPTModel small_model(ModelConfig c = {}, uint64_t seed = 3) {
  c.hidden = 16;
  c.ffn = 32;
  c.heads = 2;
  c.layers = 2;
  c.radial = 8;
  c.edge_dim = 8;
  torch::manual_seed(seed);
  EPTModel model(c);
  model->to(torch::kFloat64);
  return model;
}

using Mat3 = std::array<Vec3, 3>;

/// Uniformly random rotation (from a random unit quaternion).
inline Mat3 random_rotation(std::mt19937_64& rng) {
  std::normal_distribution<double> n;
  double q[4] = {n(rng), n(rng), n(rng), n(rng)};
  const double s = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  for (double& v : q) v /= s;
  const double w = q[0], x = q[1], y = q[2], z = q[3];
  return {{{1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)},
           {2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)},
           {2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)}}};
}

inline Vec3 apply(const Mat3& R, const Vec3& v) {
  return {R[0][0] * v[0] + R[0][1] * v[1] + R[0][2] * v[2], R[1][0] * v[0] + R[1][1] * v[1] + R[1][2] * v[2],
          R[2][0] * v[0] + R[2][1] * v[1] + R[2][2] * v[2]};
}

inline std::vector<Vec3> rigid_motion(const std::vector<Vec3>& x, const Mat3& R, const Vec3& t) {
  std::vector<Vec3> y;
  for (const auto& p : x) {
    const Vec3 r = apply(R, p);
    y.push_back({r[0] + t[0], r[1] + t[1], r[2] + t[2]});
  }
  return y;
}

inline torch::Tensor to_tensor(const std::vector<Vec3>& x, bool requires_grad = false) {
  auto t = torch::empty({static_cast<int64_t>(x.size()), 3}, torch::kFloat64);
  auto a = t.accessor<double, 2>();
  for (size_t i = 0; i < x.size(); ++i)
    for (int k = 0; k < 3; ++k) a[i][k] = x[i][k];
  t.set_requires_grad(requires_grad);
  return t;
}

inline torch::Tensor rotation_tensor(const Mat3& R) {
  return to_tensor({R[0], R[1], R[2]});
}

}  // namespace ept::test
