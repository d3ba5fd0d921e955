#pragma once
// Pair geometry shared by every layer: relative vectors, distances, the smooth envelope and the radial basis.
#include <torch/types.h>

#include <vector>

#include "ept/model/batch.h"
#include "ept/model/neighbors.h"

namespace ept {

/// u(s) = 1 − 21s⁵ + 35s⁶ − 15s⁷ for s < 1, else 0: value, slope and curvature vanish at s = 1.
torch::Tensor envelope(const torch::Tensor& s);

/// Gaussians on s = r / cutoff, multiplied by u(s): [P] -> [P, num_basis].
torch::Tensor radial_basis(const torch::Tensor& r, double cutoff, int64_t num_basis);

/// Dense attention's layout: each complex's atoms (real, then global) in one row of `width` slots, so that attention
/// runs as [complexes × heads × width × width] matrix products, not over every two atoms of the whole batch.
struct DenseLayout {
  int64_t complexes = 0, width = 0;
  torch::Tensor slot;      // int64 [A]  atom a sits at slot[a] of the flattened [complexes × width]
  torch::Tensor pair;      // int64 [P]  the graph's pair (i, j) at its flat index in [complexes × width × width]
  torch::Tensor distance;  // [complexes, width, width] |x_i − x_j| (Å; no box), +∞ towards empty slots

  /// [A, ...] -> [complexes, width, ...], zeros in empty slots.
  torch::Tensor pad(const torch::Tensor& t) const;
  /// [complexes, width, ...] -> [A, ...].
  torch::Tensor unpad(const torch::Tensor& t) const;
};

/// The layout of `batch` for dense attention, with distances of all positions [A, 3] (global atoms included).
DenseLayout dense_layout(const Batch& batch, const torch::Tensor& positions);

struct PairGeometry {
  torch::Tensor vector;    // [P, 3]  r_ij = x_i − x_j + shift_ij (Å)
  torch::Tensor distance;  // [P]
  torch::Tensor basis;     // [P, K]
  torch::Tensor weight;    // [P]     u(r/cutoff) for enveloped pairs, 1 otherwise
  DenseLayout dense;       // dense attention only
};

/// 3-vectors (positions in Å, displacements, targets) as an [N, 3] tensor of `dtype` that owns its memory.
torch::Tensor vec3_tensor(const std::vector<Vec3>& positions, torch::Dtype dtype);

/// Positions of all atoms (global atoms at their segment centroids) from real-atom positions [R, 3].
torch::Tensor all_positions(const Batch& batch, const torch::Tensor& real_positions);

PairGeometry pair_geometry(const Batch& batch, const torch::Tensor& positions, double cutoff, int64_t num_basis);

}  // namespace ept
