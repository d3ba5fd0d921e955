#pragma once
// Neighbour search with a cell list: O(N) pairs within a cutoff, for isolated systems and for orthorhombic or
// triclinic periodic boxes (minimum image; the cutoff must be below half of every box width).
#include <array>
#include <cstdint>
#include <vector>

namespace ept {

using Vec3 = std::array<double, 3>;

/// Periodic box as three lattice vectors (rows a, b, c), in Å. Not periodic: an isolated system.
struct Box {
  bool periodic = false;
  std::array<Vec3, 3> vectors{};

  static Box none() { return {}; }
  static Box triclinic(const Vec3& a, const Vec3& b, const Vec3& c) { return {true, {a, b, c}}; }
  static Box orthorhombic(double x, double y, double z) { return triclinic({x, 0, 0}, {0, y, 0}, {0, 0, z}); }
  /// Distance between the two faces normal to lattice vector k (Å).
  double width(int k) const;
  /// Throws InputError unless the vectors span a volume and `cutoff` is below half of every width.
  void validate(double cutoff) const;
};

/// One unordered pair i < j within the cutoff: r_ij = x_i − x_j + shift (shift is a lattice translation, Å).
struct NeighborPair {
  int64_t i, j;
  Vec3 shift;
};

/// Every pair within `cutoff` (Å), each once, in a deterministic order.
std::vector<NeighborPair> neighbor_pairs(const std::vector<Vec3>& positions, double cutoff, const Box& box);

/// The lattice translation t minimising |d + t| in fractional space (exact for compact displacements).
Vec3 minimum_image_shift(const Vec3& d, const Box& box);

}  // namespace ept
