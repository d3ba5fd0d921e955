#include "ept/model/graph.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <unordered_set>

#include "ept/error.h"

namespace ept {
namespace {

int64_t segment_of_atom(const Complex& c, int64_t i) {
  return i < c.num_atoms() ? c.block_segment[c.atom_block[i]] : i - c.num_atoms();
}

// Per-atom lattice shifts that make every segment whole: walk the bonds from the segment's first atom, placing
// each atom at the nearest image of its bonded predecessor. Bonds are short, so this stays valid for segments
// of any size (a protein spanning most of the box), unlike imaging every atom to a reference atom.
std::vector<double> unwrap_shifts(const Complex& c, const std::vector<Vec3>& x, const Box& box) {
  const int64_t n = c.num_atoms();
  std::vector<double> unwrap(3 * n, 0.0);
  if (!box.periodic) return unwrap;
  std::vector<std::vector<int64_t>> adjacent(n);
  for (auto [a, b] : c.bonds)
    if (segment_of_atom(c, a) == segment_of_atom(c, b)) adjacent[a].push_back(b), adjacent[b].push_back(a);
  std::vector<int64_t> reference(c.num_segments, -1);
  std::vector<uint8_t> placed(n, 0);
  std::vector<int64_t> queue;
  auto place = [&](int64_t atom, int64_t from) {  // unwrapped(atom) = nearest image to unwrapped(from)
    const Vec3 d{x[atom][0] - x[from][0] - unwrap[3 * from], x[atom][1] - x[from][1] - unwrap[3 * from + 1],
                 x[atom][2] - x[from][2] - unwrap[3 * from + 2]};
    const Vec3 s = minimum_image_shift(d, box);
    for (int k = 0; k < 3; ++k) unwrap[3 * atom + k] = s[k];
    placed[atom] = 1;
    queue.push_back(atom);
  };
  for (int64_t root = 0; root < n; ++root) {
    if (placed[root]) continue;
    int64_t& ref = reference[segment_of_atom(c, root)];
    if (ref < 0) {
      ref = root;
      placed[root] = 1;
      queue.push_back(root);
    } else {
      place(root, ref);  // a piece of the segment not bonded to the rest
    }
    while (!queue.empty()) {
      const int64_t m = queue.back();
      queue.pop_back();
      for (int64_t k : adjacent[m])
        if (!placed[k]) place(k, m);
    }
  }
  return unwrap;
}

}  // namespace

std::vector<Vec3> segment_centroids(const Complex& c, const std::vector<Vec3>& x, const std::vector<double>& unwrap) {
  std::vector<Vec3> centroid(c.num_segments, Vec3{0, 0, 0});
  std::vector<double> count(c.num_segments, 0.0);
  for (int64_t i = 0; i < c.num_atoms(); ++i) {
    const int64_t s = segment_of_atom(c, i);
    for (int k = 0; k < 3; ++k) centroid[s][k] += x[i][k] + unwrap[3 * i + k];
    count[s] += 1;
  }
  for (int64_t s = 0; s < c.num_segments; ++s)
    for (int k = 0; k < 3; ++k) centroid[s][k] /= count[s];
  return centroid;
}

Graph build_graph(const Complex& c, const std::vector<Vec3>& x, const GraphOptions& options) {
  const int64_t n = c.num_atoms();
  if (static_cast<int64_t>(x.size()) != n)
    throw InputError("got " + std::to_string(x.size()) + " positions for a molecule of " + std::to_string(n) + " atoms");
  for (int64_t i = 0; i < n; ++i)
    for (double v : x[i])
      if (!std::isfinite(v)) throw InputError("position of atom " + std::to_string(i) + " is not finite (NaN or inf)");
  if (options.mode == AttentionMode::Dense && options.box.periodic)
    throw InputError("dense attention is for isolated molecules; use sparse attention with a periodic box");
  options.box.validate(options.cutoff);

  Graph g;
  g.num_real = n;
  g.num_atoms = n + c.num_segments;
  g.unwrap = unwrap_shifts(c, x, options.box);

  std::unordered_set<int64_t> bonded_blocks;
  const int64_t nb = c.num_blocks();
  for (auto [a, b] : c.bonds) {
    const int64_t ba = c.atom_block[a], bb = c.atom_block[b];
    if (ba != bb) bonded_blocks.insert(ba * nb + bb), bonded_blocks.insert(bb * nb + ba);
  }
  auto edge_type = [&](int64_t i, int64_t j) -> int64_t {
    if (i == j) return kEdgeSelf;
    const int64_t si = segment_of_atom(c, i), sj = segment_of_atom(c, j);
    if (si != sj) return kEdgeCrossSegment;
    if (i >= n || j >= n) return kEdgeGlobal;
    const int64_t bi = c.atom_block[i], bj = c.atom_block[j];
    if (bi == bj) return kEdgeIntraBlock;
    return bonded_blocks.count(bi * nb + bj) ? kEdgeBonded : kEdgeSpatial;
  };
  struct Pair {
    int64_t i, j;
    Vec3 shift;
    uint8_t enveloped;
  };
  std::vector<Pair> pairs;
  auto is_own_global_pair = [&](int64_t i, int64_t j) {
    return (i >= n) != (j >= n) && segment_of_atom(c, i) == segment_of_atom(c, j);
  };
  std::vector<Vec3> points = x;
  for (const Vec3& centroid : segment_centroids(c, x, g.unwrap)) points.push_back(centroid);
  for (const NeighborPair& p : neighbor_pairs(points, options.cutoff, options.box)) {
    if (is_own_global_pair(p.i, p.j)) continue;  // added below, whatever the distance
    const uint8_t env = options.envelope ? 1 : 0;
    pairs.push_back({p.i, p.j, p.shift, env});
    pairs.push_back({p.j, p.i, {-p.shift[0], -p.shift[1], -p.shift[2]}, env});
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t global = n + segment_of_atom(c, i);
    const Vec3 u{g.unwrap[3 * i], g.unwrap[3 * i + 1], g.unwrap[3 * i + 2]};
    pairs.push_back({i, global, u, 0});
    pairs.push_back({global, i, {-u[0], -u[1], -u[2]}, 0});
  }
  for (int64_t i = 0; i < g.num_atoms; ++i) pairs.push_back({i, i, {0, 0, 0}, 0});
  std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.i != b.i ? a.i < b.i : a.j < b.j; });
  const size_t p = pairs.size();
  g.receiver.resize(p);
  g.sender.resize(p);
  g.shift.resize(3 * p);
  g.edge_type.resize(p);
  g.enveloped.resize(p);
  for (size_t k = 0; k < p; ++k) {
    g.receiver[k] = pairs[k].i;
    g.sender[k] = pairs[k].j;
    for (int d = 0; d < 3; ++d) g.shift[3 * k + d] = pairs[k].shift[d];
    g.edge_type[k] = edge_type(pairs[k].i, pairs[k].j);
    g.enveloped[k] = pairs[k].enveloped;
  }
  return g;
}

}  // namespace ept
