#pragma once
// Pair geometry shared by every layer: relative vectors, distances, the smooth envelope and the radial basis.
#include <torch/types.h>

#include <vector>

#include "ept/batch.h"
#include "ept/neighbors.h"

namespace ept {

/// u(s) = 1 − 21s⁵ + 35s⁶ − 15s⁷ for s < 1, else 0: value, slope and curvature vanish at s = 1.
torch::Tensor envelope(const torch::Tensor& s);

/// Gaussians on s = r / cutoff, multiplied by u(s): [P] -> [P, num_basis].
torch::Tensor radial_basis(const torch::Tensor& r, double cutoff, int64_t num_basis);

struct PairGeometry {
  torch::Tensor vector;    // [P, 3]  r_ij = x_i − x_j + shift_ij (Å)
  torch::Tensor distance;  // [P]
  torch::Tensor basis;     // [P, K]
  torch::Tensor weight;    // [P]     u(r/cutoff) for enveloped pairs, 1 otherwise
  torch::Tensor all_distance;  // [A, A] dense attention only: all_pair_distances
};

/// 3-vectors (positions in Å, displacements, targets) as an [N, 3] tensor of `dtype` that owns its memory.
torch::Tensor vec3_tensor(const std::vector<Vec3>& positions, torch::Dtype dtype);

/// Positions of all atoms (global atoms at their segment centroids) from real-atom positions [R, 3].
torch::Tensor all_positions(const Batch& batch, const torch::Tensor& real_positions);

/// |x_i − x_j| between every two atoms [A, A] (Å; no box), +∞ between atoms of different complexes.
torch::Tensor all_pair_distances(const Batch& batch, const torch::Tensor& positions);

PairGeometry pair_geometry(const Batch& batch, const torch::Tensor& positions, double cutoff, int64_t num_basis);

}  // namespace ept
