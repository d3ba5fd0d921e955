#include "ept/model/neighbors.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "ept/error.h"

namespace ept {
namespace {

Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

// Rows of the inverse of the matrix whose rows are the lattice vectors: frac = x · inverse.
std::array<Vec3, 3> inverse_rows(const std::array<Vec3, 3>& m) {
  const Vec3 c0 = cross(m[1], m[2]), c1 = cross(m[2], m[0]), c2 = cross(m[0], m[1]);
  const double det = dot(m[0], c0);
  // inverse = adjugate / det; column k of the inverse is c_k / det.
  std::array<Vec3, 3> inv{};
  for (int r = 0; r < 3; ++r) inv[r] = {c0[r] / det, c1[r] / det, c2[r] / det};
  return inv;
}

Vec3 to_fractional(const Vec3& x, const std::array<Vec3, 3>& inv) {
  Vec3 f{};
  for (int k = 0; k < 3; ++k) f[k] = x[0] * inv[0][k] + x[1] * inv[1][k] + x[2] * inv[2][k];
  return f;
}

Vec3 lattice(const std::array<double, 3>& n, const std::array<Vec3, 3>& v) {
  Vec3 t{};
  for (int k = 0; k < 3; ++k)
    for (int c = 0; c < 3; ++c) t[c] += n[k] * v[k][c];
  return t;
}

}  // namespace

double Box::width(int k) const {
  const Vec3 n = cross(vectors[(k + 1) % 3], vectors[(k + 2) % 3]);
  return std::abs(dot(vectors[k], n)) / std::sqrt(dot(n, n));
}

void Box::validate(double cutoff) const {
  if (!periodic) return;
  const double volume = std::abs(dot(vectors[0], cross(vectors[1], vectors[2])));
  if (!(volume > 0)) throw InputError("the periodic box vectors are degenerate (zero volume)");
  for (int k = 0; k < 3; ++k)
    if (!(cutoff < 0.5 * width(k)))
      throw InputError("the cutoff " + std::to_string(cutoff) + " Å is not below half the periodic box width " +
                       std::to_string(width(k)) + " Å; use a larger box or a model with a smaller cutoff");
}

Vec3 minimum_image_shift(const Vec3& d, const Box& box) {
  if (!box.periodic) return {0, 0, 0};
  const Vec3 f = to_fractional(d, inverse_rows(box.vectors));
  return lattice({-std::round(f[0]), -std::round(f[1]), -std::round(f[2])}, box.vectors);
}

std::vector<NeighborPair> neighbor_pairs(const std::vector<Vec3>& x, double cutoff, const Box& box) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<NeighborPair> pairs;
  if (n == 0) return pairs;
  if (!(cutoff > 0)) throw InputError("the neighbour cutoff must be positive");
  for (int64_t i = 0; i < n; ++i)
    for (double c : x[i])
      if (!std::isfinite(c)) throw InputError("position of atom " + std::to_string(i) + " is not finite");
  box.validate(cutoff);

  // Cell grid in fractional space. For an isolated system the "box" is the bounding box, without wrapping.
  std::array<Vec3, 3> cell_vectors = box.vectors;
  Vec3 origin{0, 0, 0};
  if (!box.periodic) {
    Vec3 lo = x[0], hi = x[0];
    for (const auto& p : x)
      for (int k = 0; k < 3; ++k) lo[k] = std::min(lo[k], p[k]), hi[k] = std::max(hi[k], p[k]);
    origin = lo;
    for (int k = 0; k < 3; ++k) {
      cell_vectors[k] = {0, 0, 0};
      cell_vectors[k][k] = std::max(hi[k] - lo[k], cutoff) * (1 + 1e-9);
    }
  }
  const auto inv = inverse_rows(cell_vectors);
  std::array<int64_t, 3> ncell{};
  std::array<bool, 3> images{};  // periodic dimension too thin for 3 cells: search the ±1 images instead
  for (int k = 0; k < 3; ++k) {
    const Vec3 nrm = cross(cell_vectors[(k + 1) % 3], cell_vectors[(k + 2) % 3]);
    const double w = std::abs(dot(cell_vectors[k], nrm)) / std::sqrt(dot(nrm, nrm));
    ncell[k] = std::max<int64_t>(1, static_cast<int64_t>(std::floor(w / cutoff)));
    images[k] = box.periodic && ncell[k] < 3;
    if (images[k]) ncell[k] = 1;
  }

  // Wrapped fractional coordinates, the whole-cell translation removed (n_i), and the cell of each atom.
  std::vector<Vec3> xw(n);
  std::vector<std::array<double, 3>> wraps(n);
  std::vector<std::array<int64_t, 3>> cell_of(n);
  for (int64_t i = 0; i < n; ++i) {
    Vec3 d{x[i][0] - origin[0], x[i][1] - origin[1], x[i][2] - origin[2]};
    Vec3 f = to_fractional(d, inv);
    std::array<int64_t, 3> c{};
    for (int k = 0; k < 3; ++k) {
      wraps[i][k] = box.periodic ? std::floor(f[k]) : 0.0;
      f[k] -= wraps[i][k];
      c[k] = std::min<int64_t>(ncell[k] - 1, std::max<int64_t>(0, static_cast<int64_t>(f[k] * ncell[k])));
    }
    const Vec3 t = lattice(wraps[i], cell_vectors);
    xw[i] = {x[i][0] - t[0], x[i][1] - t[1], x[i][2] - t[2]};
    cell_of[i] = c;
  }
  // Only occupied cells exist: atoms sorted by cell, and each neighbour cell found by binary search, so cost and
  // memory grow with the atoms, not with the volume they spread over (a molecule 1 000 nm from another costs
  // nothing extra).
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cell_of[a] < cell_of[b]; });
  struct Cell {
    std::array<int64_t, 3> index;
    int64_t begin, end;  // range in `order`
  };
  std::vector<Cell> cells;
  for (int64_t a = 0; a < n; ++a) {
    if (cells.empty() || cell_of[order[a]] != cells.back().index) cells.push_back({cell_of[order[a]], a, a});
    cells.back().end = a + 1;
  }
  auto find = [&](const std::array<int64_t, 3>& index) -> const Cell* {
    auto it = std::lower_bound(cells.begin(), cells.end(), index,
                               [](const Cell& c, const std::array<int64_t, 3>& k) { return c.index < k; });
    return it != cells.end() && it->index == index ? &*it : nullptr;
  };

  const double cut2 = cutoff * cutoff;
  for (const Cell& home : cells) {
    const std::array<int64_t, 3>& c = home.index;
    for (int dx = -1; dx <= 1; ++dx)
      for (int dy = -1; dy <= 1; ++dy)
        for (int dz = -1; dz <= 1; ++dz) {
          const std::array<int, 3> d{dx, dy, dz};
          std::array<int64_t, 3> o{};
          std::array<double, 3> w{};  // lattice translation of the neighbour cell
          for (int k = 0; k < 3; ++k) {
            if (images[k]) {
              o[k] = 0;
              w[k] = d[k];
              continue;
            }
            o[k] = c[k] + d[k];
            if (box.periodic && (o[k] < 0 || o[k] >= ncell[k])) {
              w[k] = o[k] < 0 ? -1.0 : 1.0;
              o[k] -= static_cast<int64_t>(w[k]) * ncell[k];
            }
          }
          const Cell* other = find(o);
          if (!other) continue;
          const Vec3 t = lattice(w, cell_vectors);
          for (int64_t a = home.begin; a < home.end; ++a) {
            const int64_t i = order[a];
            for (int64_t b = other->begin; b < other->end; ++b) {
              const int64_t j = order[b];
              if (j <= i) continue;
              const Vec3 r{xw[i][0] - xw[j][0] - t[0], xw[i][1] - xw[j][1] - t[1], xw[i][2] - xw[j][2] - t[2]};
              if (dot(r, r) >= cut2) continue;
              // r = x_i − x_j + shift, with shift = (n_j − n_i − w)·B.
              std::array<double, 3> m{};
              for (int k = 0; k < 3; ++k) m[k] = wraps[j][k] - wraps[i][k] - w[k];
              pairs.push_back({i, j, lattice(m, cell_vectors)});
            }
          }
        }
  }
  std::sort(pairs.begin(), pairs.end(), [](const NeighborPair& p, const NeighborPair& q) {
    return p.i != q.i ? p.i < q.i : p.j < q.j;
  });
  return pairs;
}

}  // namespace ept
