#include "ept/training/conformation_graph.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <regex>
#include <sstream>
#include <string_view>
#include <thread>

#include "ept/data/atomic_file.h"
#include "ept/error.h"

namespace ept {
namespace {

std::string number(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

std::string nodes_phrase(int64_t num_nodes) {
  if (num_nodes == 0) return "the graph has no nodes";
  return "the graph has " + std::to_string(num_nodes) + " nodes, numbered 0 to " + std::to_string(num_nodes - 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Superposition. Horn's quaternion form: the best rotation of centred a onto centred b maximises qᵀKq over unit
// quaternions q, with K built from M = Σ a bᵀ; its top eigenvector is the rotation.

using Mat4 = std::array<std::array<double, 4>, 4>;

Mat4 key_matrix(const double* a, const double* b, int64_t n) {
  double xx = 0, xy = 0, xz = 0, yx = 0, yy = 0, yz = 0, zx = 0, zy = 0, zz = 0;
  for (int64_t k = 0; k < n; ++k) {
    const double *p = a + 3 * k, *q = b + 3 * k;
    xx += p[0] * q[0], xy += p[0] * q[1], xz += p[0] * q[2];
    yx += p[1] * q[0], yy += p[1] * q[1], yz += p[1] * q[2];
    zx += p[2] * q[0], zy += p[2] * q[1], zz += p[2] * q[2];
  }
  return {{{xx + yy + zz, yz - zy, zx - xz, xy - yx},
           {yz - zy, xx - yy - zz, xy + yx, zx + xz},
           {zx - xz, xy + yx, yy - xx - zz, yz + zy},
           {xy - yx, zx + xz, yz + zy, zz - xx - yy}}};
}

// Cyclic Jacobi rotations rather than Newton on the characteristic polynomial: slower, but accurate to rounding for
// repeated eigenvalues too (collinear sets have two equal top eigenvalues; any vector of that plane is optimal).
std::array<double, 4> top_eigenvector(Mat4 a) {
  Mat4 v{};
  for (int k = 0; k < 4; ++k) v[k][k] = 1;
  for (int sweep = 0; sweep < 30; ++sweep) {
    double off = 0, diagonal = 0;
    for (int p = 0; p < 4; ++p)
      for (int q = 0; q < 4; ++q) (p == q ? diagonal : off) += a[p][q] * a[p][q];
    if (off <= 1e-32 * diagonal) break;
    for (int p = 0; p < 3; ++p)
      for (int q = p + 1; q < 4; ++q) {
        if (a[p][q] == 0) continue;
        // The smaller root t = tan φ of t² + 2θt − 1 = 0 zeroes a[p][q] with the smaller rotation.
        const double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const double t = std::copysign(1.0, theta) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < 4; ++k) {
          const double kp = a[k][p], kq = a[k][q];
          a[k][p] = c * kp - s * kq;
          a[k][q] = s * kp + c * kq;
        }
        for (int k = 0; k < 4; ++k) {
          const double pk = a[p][k], qk = a[q][k];
          a[p][k] = c * pk - s * qk;
          a[q][k] = s * pk + c * qk;
        }
        a[p][q] = a[q][p] = 0;
        for (int k = 0; k < 4; ++k) {
          const double kp = v[k][p], kq = v[k][q];
          v[k][p] = c * kp - s * kq;
          v[k][q] = s * kp + c * kq;
        }
      }
  }
  int top = 0;
  for (int k = 1; k < 4; ++k)
    if (a[k][k] > a[top][top]) top = k;
  return {v[0][top], v[1][top], v[2][top], v[3][top]};
}

// Whether λI − K is positive definite (every eigenvalue of K below λ): a 4×4 elimination instead of an eigensolver.
bool eigenvalues_below(const Mat4& key, double lambda) {
  Mat4 a;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) a[i][j] = (i == j ? lambda : 0.0) - key[i][j];
  for (int p = 0; p < 4; ++p) {
    if (!(a[p][p] > 0)) return false;
    for (int i = p + 1; i < 4; ++i)
      for (int j = p + 1; j <= i; ++j) a[i][j] -= a[i][p] * a[j][p] / a[p][p];
  }
  return true;
}

// RMSD of two centred sets of n atoms (x, y, z each). The residual Σ|Ra − b|² is summed directly: the shortcut
// G_a + G_b − 2λ_max cancels to about √ε × size for near-identical sets, far from zero.
double centred_rmsd(const double* a, const double* b, int64_t n) {
  const auto [w, x, y, z] = top_eigenvector(key_matrix(a, b, n));
  const double r[3][3] = {{w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y)},
                          {2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x)},
                          {2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z}};
  double sum = 0;
  for (int64_t k = 0; k < n; ++k) {
    const double* p = a + 3 * k;
    for (int u = 0; u < 3; ++u) {
      const double d = r[u][0] * p[0] + r[u][1] * p[1] + r[u][2] * p[2] - b[3 * k + u];
      sum += d * d;
    }
  }
  return std::sqrt(sum / static_cast<double>(n));
}

// The atoms to superpose: `atoms`, checked, or all of them.
std::vector<int64_t> selection(int64_t num_atoms, const std::vector<int64_t>& atoms) {
  if (atoms.empty()) {
    if (num_atoms == 0) throw InputError("no atoms to superpose: the conformations are empty");
    std::vector<int64_t> all(num_atoms);
    for (int64_t k = 0; k < num_atoms; ++k) all[k] = k;
    return all;
  }
  for (int64_t atom : atoms)
    if (atom < 0 || atom >= num_atoms)
      throw InputError("atom " + std::to_string(atom) + " of the superposition selection does not exist (the " +
                       "conformations have " + std::to_string(num_atoms) + " atoms, numbered 0 to " +
                       std::to_string(num_atoms - 1) + ")");
  return atoms;
}

// Writes the selected atoms minus their centroid to out (3 per atom); returns G = Σ|x|².
double centre(const std::vector<Vec3>& x, const std::vector<int64_t>& atoms, double* out) {
  double c[3] = {0, 0, 0};
  for (int64_t atom : atoms)
    for (int u = 0; u < 3; ++u) c[u] += x[atom][u];
  for (double& v : c) v /= static_cast<double>(atoms.size());
  double g = 0;
  for (size_t k = 0; k < atoms.size(); ++k)
    for (int u = 0; u < 3; ++u) {
      out[3 * k + u] = x[atoms[k]][u] - c[u];
      g += out[3 * k + u] * out[3 * k + u];
    }
  return g;
}

// body(begin, end, worker) over [0, count) in chunks, taken in turn by `threads` threads.
template <class Body>
void parallel_chunks(int threads, int64_t count, int64_t chunk, Body body) {
  threads = static_cast<int>(std::clamp<int64_t>((count + chunk - 1) / chunk, 1, threads));
  std::atomic<int64_t> next{0};
  auto work = [&](int worker) {
    for (int64_t begin; (begin = next.fetch_add(chunk)) < count;) body(begin, std::min(count, begin + chunk), worker);
  };
  if (threads == 1) return work(0);
  std::vector<std::exception_ptr> errors(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        work(t);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  for (auto& thread : pool) thread.join();
  for (auto& error : errors)
    if (error) std::rethrow_exception(error);
}

// ---------------------------------------------------------------------------------------------------------------
// Text files.

void require_file(const std::string& what, const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error))
    throw InputError(what + " '" + path + "' does not exist or is not a file");
}

// Up to 3 whitespace-separated fields of a line, before any '#'; returns how many (3 means 3 or more).
int split(std::string_view line, std::string_view (&fields)[3]) {
  line = line.substr(0, line.find('#'));
  const char* blank = " \t\r\v\f";
  int count = 0;
  for (size_t start = line.find_first_not_of(blank); start != line.npos && count < 3;
       start = line.find_first_not_of(blank, start)) {
    const size_t end = std::min(line.find_first_of(blank, start), line.size());
    fields[count++] = line.substr(start, end - start);
    start = end;
  }
  return count;
}

bool parse_integer(std::string_view text, int64_t& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

template <class Line>
void for_each_line(const std::string& text, Line line) {
  int64_t number = 0;
  for (size_t start = 0; start < text.size();) {
    const size_t end = std::min(text.find('\n', start), text.size());
    line(++number, std::string_view(text).substr(start, end - start));
    start = end + 1;
  }
}

std::string quoted(std::string_view line) {
  if (line.size() > 60) return "'" + std::string(line.substr(0, 57)) + "...'";
  return "'" + std::string(line) + "'";
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------

ConformationGraph::ConformationGraph(int64_t num_nodes, const std::vector<std::pair<int64_t, int64_t>>& edges,
                                     std::string description)
    : description_(std::move(description)) {
  if (num_nodes < 0) throw InputError("a graph cannot have " + std::to_string(num_nodes) + " nodes");
  for (size_t e = 0; e < edges.size(); ++e) {
    const int64_t i = edges[e].first, j = edges[e].second;
    const auto edge = [&] {
      return description_ + ": edge #" + std::to_string(e) + " (" + std::to_string(i) + ", " + std::to_string(j) + ")";
    };
    for (int64_t node : {i, j})
      if (node < 0 || node >= num_nodes)
        throw InputError(edge() + ": node " + std::to_string(node) + " does not exist (" + nodes_phrase(num_nodes) +
                         ")");
    if (i == j) throw InputError(edge() + " joins a frame to itself; leave self-loops out");
  }

  // Each edge in both directions, grouped by node; then sorted and deduplicated in place, node by node.
  offsets_.assign(num_nodes + 1, 0);
  for (const auto& [i, j] : edges) ++offsets_[i + 1], ++offsets_[j + 1];
  for (int64_t v = 0; v < num_nodes; ++v) offsets_[v + 1] += offsets_[v];
  neighbours_.resize(2 * edges.size());
  std::vector<int64_t> fill(offsets_.begin(), offsets_.end() - 1);
  for (const auto& [i, j] : edges) neighbours_[fill[i]++] = j, neighbours_[fill[j]++] = i;
  int64_t kept = 0;
  for (int64_t v = 0; v < num_nodes; ++v) {
    const auto begin = neighbours_.begin() + offsets_[v], end = neighbours_.begin() + offsets_[v + 1];
    std::sort(begin, end);
    offsets_[v] = kept;
    for (auto it = begin, last = std::unique(begin, end); it != last; ++it) neighbours_[kept++] = *it;
  }
  offsets_[num_nodes] = kept;
  neighbours_.resize(kept);
  neighbours_.shrink_to_fit();

  // Breadth-first from each unvisited node in ascending order numbers components by their smallest node.
  component_.assign(num_nodes, -1);
  std::vector<int64_t> queue;
  for (int64_t start = 0; start < num_nodes; ++start) {
    if (component_[start] >= 0) continue;
    component_[start] = num_components_;
    queue.assign(1, start);
    for (size_t head = 0; head < queue.size(); ++head)
      for (const int64_t* n = neighbours_begin(queue[head]); n != neighbours_end(queue[head]); ++n)
        if (component_[*n] < 0) component_[*n] = num_components_, queue.push_back(*n);
    ++num_components_;
  }
}

bool ConformationGraph::has_edge(int64_t i, int64_t j) const {
  if (i < 0 || i >= num_nodes()) return false;
  return std::binary_search(neighbours_begin(i), neighbours_end(i), j);
}

std::vector<std::pair<int64_t, int64_t>> ConformationGraph::edges() const {
  std::vector<std::pair<int64_t, int64_t>> out;
  out.reserve(num_edges());
  for (int64_t i = 0; i < num_nodes(); ++i)
    for (const int64_t* j = std::upper_bound(neighbours_begin(i), neighbours_end(i), i); j != neighbours_end(i); ++j)
      out.emplace_back(i, *j);
  return out;
}

ConformationGraph ConformationGraph::subgraph(const std::vector<int64_t>& nodes) const {
  std::vector<int64_t> position(num_nodes(), -1);
  for (size_t k = 0; k < nodes.size(); ++k) {
    const int64_t node = nodes[k];
    if (node < 0 || node >= num_nodes())
      throw InputError("subgraph of " + description_ + ": node " + std::to_string(node) + " does not exist (" +
                       nodes_phrase(num_nodes()) + ")");
    if (position[node] >= 0)
      throw InputError("subgraph of " + description_ + ": node " + std::to_string(node) + " is given twice (at " +
                       std::to_string(position[node]) + " and " + std::to_string(k) + "); give each node once");
    position[node] = static_cast<int64_t>(k);
  }
  std::vector<std::pair<int64_t, int64_t>> kept;
  for (size_t k = 0; k < nodes.size(); ++k)
    for (const int64_t* n = neighbours_begin(nodes[k]); n != neighbours_end(nodes[k]); ++n)
      if (position[*n] > static_cast<int64_t>(k)) kept.emplace_back(k, position[*n]);
  return ConformationGraph(static_cast<int64_t>(nodes.size()), kept,
                           description_ + " (" + std::to_string(nodes.size()) + " of its nodes)");
}

// ---------------------------------------------------------------------------------------------------------------

ConformationGraph time_lag_graph(const std::vector<int64_t>& frames_per_trajectory, int64_t tau) {
  if (tau < 1) throw InputError("the time lag τ must be at least 1 frame, got " + std::to_string(tau));
  std::vector<std::pair<int64_t, int64_t>> edges;
  int64_t offset = 0;
  for (size_t t = 0; t < frames_per_trajectory.size(); ++t) {
    const int64_t frames = frames_per_trajectory[t];
    if (frames < 0)
      throw InputError("trajectory " + std::to_string(t) + " has " + std::to_string(frames) +
                       " frames: a frame count cannot be negative");
    for (int64_t i = 0; i < frames; ++i)
      for (int64_t j = i + 1; j < frames && j - i <= tau; ++j) edges.emplace_back(offset + i, offset + j);
    offset += frames;
  }
  return ConformationGraph(offset, edges, "time lag: frames within τ = " + std::to_string(tau) +
                                              " of each other in one trajectory");
}

double superposed_rmsd(const std::vector<Vec3>& a, const std::vector<Vec3>& b, const std::vector<int64_t>& atoms) {
  if (a.size() != b.size())
    throw InputError("the two conformations have " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                     " atoms; an RMSD needs the same atoms in both");
  const auto selected = selection(static_cast<int64_t>(a.size()), atoms);
  const auto n = static_cast<int64_t>(selected.size());
  std::vector<double> ca(3 * n), cb(3 * n);
  centre(a, selected, ca.data());
  centre(b, selected, cb.data());
  return centred_rmsd(ca.data(), cb.data(), n);
}

ConformationGraph rmsd_graph(const std::vector<std::vector<Vec3>>& frames, double radius,
                             const std::vector<int64_t>& atoms, int threads) {
  if (!(std::isfinite(radius) && radius > 0))
    throw InputError("the RMSD radius must be a finite number of Å > 0, got " + number(radius));
  if (threads < 1) throw InputError("rmsd_graph needs at least 1 thread, got " + std::to_string(threads));
  const auto num_frames = static_cast<int64_t>(frames.size());
  if (num_frames == 0) return ConformationGraph(0, {}, "RMSD ≤ " + number(radius) + " Å after superposition");
  const auto num_atoms = static_cast<int64_t>(frames[0].size());
  for (int64_t f = 1; f < num_frames; ++f)
    if (static_cast<int64_t>(frames[f].size()) != num_atoms)
      throw InputError("frame " + std::to_string(f) + " has " + std::to_string(frames[f].size()) +
                       " atoms but frame 0 has " + std::to_string(num_atoms) + "; every frame needs the same atoms");
  const auto selected = selection(num_atoms, atoms);
  const auto n = static_cast<int64_t>(selected.size());
  const int64_t stride = 3 * n;
  const std::string description =
      "RMSD ≤ " + number(radius) + " Å after superposition on " + std::to_string(n) + " atoms";
  std::vector<double> x(num_frames * stride), g(num_frames);
  for (int64_t f = 0; f < num_frames; ++f) {
    g[f] = centre(frames[f], selected, &x[f * stride]);
    if (!std::isfinite(g[f]))
      throw InputError("frame " + std::to_string(f) + " has a coordinate that is not a finite number (or one so " +
                       "large that its square overflows)");
  }

  // RMSD after superposition is a metric: |d(i,p) − d(j,p)| ≤ d(i,j) for any reference p. References: frames by
  // farthest-point sampling from frame 0, and last the collapsed set (all atoms at the centroid), at √(G/n).
  const int num_pivots = static_cast<int>(std::min<int64_t>(24, num_frames));
  const int columns = num_pivots + 1;
  std::vector<double> to_pivot(num_frames * columns), nearest(num_frames, std::numeric_limits<double>::infinity());
  int64_t pivot = 0;
  for (int k = 0; k < num_pivots; ++k) {
    parallel_chunks(threads, num_frames, 1024, [&](int64_t begin, int64_t end, int) {
      for (int64_t f = begin; f < end; ++f) {
        to_pivot[f * columns + k] = centred_rmsd(&x[f * stride], &x[pivot * stride], n);
        nearest[f] = std::min(nearest[f], to_pivot[f * columns + k]);
      }
    });
    pivot = std::max_element(nearest.begin(), nearest.end()) - nearest.begin();
  }
  for (int64_t f = 0; f < num_frames; ++f) to_pivot[f * columns + num_pivots] = std::sqrt(g[f] / n);

  // The gap test below is a box query: every coordinate of the frames' distance vectors within `outer`. A k-d tree
  // over those vectors answers it; the frames are stored in its leaf order, so each node is a range of positions.
  const double outer = radius + 1e-9, inner = std::max(0.0, radius - 1e-9);
  struct Node {
    int64_t begin, end, left = -1, right = -1;
  };
  std::vector<Node> nodes;
  std::vector<double> boxes;  // per node: the lowest then the highest value of each column
  std::vector<int64_t> order(num_frames);
  for (int64_t f = 0; f < num_frames; ++f) order[f] = f;
  const std::function<int64_t(int64_t, int64_t)> build = [&](int64_t begin, int64_t end) {
    const auto id = static_cast<int64_t>(nodes.size());
    nodes.push_back({begin, end});
    boxes.resize(boxes.size() + 2 * columns);
    double *low = &boxes[id * 2 * columns], *high = low + columns;
    std::fill_n(low, columns, std::numeric_limits<double>::infinity());
    std::fill_n(high, columns, -std::numeric_limits<double>::infinity());
    for (int64_t r = begin; r < end; ++r)
      for (int k = 0; k < columns; ++k) {
        low[k] = std::min(low[k], to_pivot[order[r] * columns + k]);
        high[k] = std::max(high[k], to_pivot[order[r] * columns + k]);
      }
    if (end - begin <= 32) return id;
    int split = 0;
    for (int k = 1; k < columns; ++k)
      if (high[k] - low[k] > high[split] - low[split]) split = k;
    const int64_t middle = (begin + end) / 2;
    std::nth_element(order.begin() + begin, order.begin() + middle, order.begin() + end, [&](int64_t i, int64_t j) {
      return to_pivot[i * columns + split] < to_pivot[j * columns + split];
    });
    const int64_t left = build(begin, middle), right = build(middle, end);
    nodes[id].left = left, nodes[id].right = right;
    return id;
  };
  build(0, num_frames);
  std::vector<double> xs(x.size()), gs(num_frames), ds(to_pivot.size());
  for (int64_t r = 0; r < num_frames; ++r) {
    const int64_t f = order[r];
    std::copy_n(&x[f * stride], stride, &xs[r * stride]);
    std::copy_n(&to_pivot[f * columns], columns, &ds[r * columns]);
    gs[r] = g[f];
  }

  // Bounds decide only with a margin (1e-9 Å, and for the eigenvalue test a slack far above its rounding); pairs
  // within it are decided by the same RMSD superposed_rmsd computes, with the frames in the same order.
  std::vector<std::vector<std::pair<int64_t, int64_t>>> found(threads);
  const auto consider = [&](int64_t a, int64_t b, std::vector<std::pair<int64_t, int64_t>>& out) {
    const double *da = &ds[a * columns], *db = &ds[b * columns];
    bool far = false;  // no early exit and no chain of dependent steps: the compares run side by side
    for (int k = 0; k < columns; ++k) far |= std::abs(da[k] - db[k]) > outer;
    if (far) return;
    // RMSD² = (G_a + G_b − 2λ_max)/n, so RMSD ≤ r ⇔ λ_max ≥ (G_a + G_b − n r²)/2.
    const Mat4 key = key_matrix(&xs[a * stride], &xs[b * stride], n);
    const double sum = gs[a] + gs[b], slack = 1e-10 * sum;
    if (eigenvalues_below(key, 0.5 * (sum - n * outer * outer) - slack)) return;
    const int64_t i = order[a], j = order[b];
    const bool near = !eigenvalues_below(key, 0.5 * (sum - n * inner * inner) + slack);
    if (near || centred_rmsd(&xs[(i < j ? a : b) * stride], &xs[(i < j ? b : a) * stride], n) <= radius)
      out.emplace_back(std::min(i, j), std::max(i, j));
  };
  parallel_chunks(threads, num_frames, 64, [&](int64_t begin, int64_t end, int worker) {
    std::vector<int64_t> stack;
    for (int64_t a = begin; a < end; ++a) {
      const double* da = &ds[a * columns];
      for (stack.assign(1, 0); !stack.empty();) {
        const int64_t id = stack.back();
        stack.pop_back();
        const Node& node = nodes[id];
        if (node.end <= a + 1) continue;  // each pair once: partners after a
        const double *low = &boxes[id * 2 * columns], *high = low + columns;
        bool apart = false;
        for (int k = 0; k < columns; ++k) apart |= low[k] > da[k] + outer || high[k] < da[k] - outer;
        if (apart) continue;
        if (node.left >= 0) {
          stack.push_back(node.left);
          stack.push_back(node.right);
        } else {
          for (int64_t b = std::max(node.begin, a + 1); b < node.end; ++b) consider(a, b, found[worker]);
        }
      }
    }
  });
  std::vector<std::pair<int64_t, int64_t>> edges;
  for (const auto& part : found) edges.insert(edges.end(), part.begin(), part.end());
  return ConformationGraph(num_frames, edges, description);
}

ConformationGraph label_graph(const std::vector<int64_t>& labels, int64_t max_edges) {
  std::map<int64_t, std::vector<int64_t>> members;
  for (size_t f = 0; f < labels.size(); ++f)
    if (labels[f] >= 0) members[labels[f]].push_back(static_cast<int64_t>(f));
  // Each label is a clique: count before allocating anything.
  int64_t total = 0, largest = -1, largest_size = 0;
  for (const auto& [label, frames] : members) {
    const auto m = static_cast<int64_t>(frames.size());
    total += m * (m - 1) / 2;
    if (m > largest_size) largest = label, largest_size = m;
  }
  if (total > max_edges)
    throw InputError("label " + std::to_string(largest) + " is shared by " + std::to_string(largest_size) +
                     " frames: " + std::to_string(total) + " edges in all (at most " + std::to_string(max_edges) +
                     "); give every k-th frame (a stride) or fewer labels");
  std::vector<std::pair<int64_t, int64_t>> edges;
  edges.reserve(total);
  for (const auto& [label, frames] : members)
    for (size_t a = 0; a < frames.size(); ++a)
      for (size_t b = a + 1; b < frames.size(); ++b) edges.emplace_back(frames[a], frames[b]);
  return ConformationGraph(static_cast<int64_t>(labels.size()), edges, "same state label");
}

// ---------------------------------------------------------------------------------------------------------------

std::vector<int64_t> read_labels(const std::string& path, int64_t num_nodes) {
  const std::string what = "state label file '" + path + "'";
  require_file("state label file", path);
  const std::string text = read_file(path);
  std::vector<int64_t> labels;
  for_each_line(text, [&](int64_t line, std::string_view content) {
    std::string_view fields[3];
    const int count = split(content, fields);
    if (count == 0) return;
    int64_t label = 0;
    if (count > 1 || !parse_integer(fields[0], label))
      throw InputError(what + " line " + std::to_string(line) + ": " + quoted(content) +
                       " is not one integer label (one per line; a negative label means unlabelled)");
    labels.push_back(label);
  });
  if (static_cast<int64_t>(labels.size()) != num_nodes)
    throw InputError(what + " has " + std::to_string(labels.size()) + " labels but there are " +
                     std::to_string(num_nodes) + " frames: give one label per frame kept (after any stride)");
  return labels;
}

ConformationGraph read_edge_list(const std::string& path, int64_t num_nodes) {
  const std::string what = "edge list '" + path + "'";
  require_file("edge list", path);
  const std::string text = read_file(path);
  std::string description = what;
  std::vector<std::pair<int64_t, int64_t>> edges;
  for_each_line(text, [&](int64_t line, std::string_view content) {
    const auto where = [&] { return what + " line " + std::to_string(line) + ": "; };
    // write_edge_list's first line says what the graph is and for how many nodes: refuse it for other frames.
    static const std::regex header(R"(# (.*): (\d+) nodes, (\d+) edges\s*)");
    std::match_results<std::string_view::const_iterator> match;
    if (line == 1 && std::regex_match(content.begin(), content.end(), match, header)) {
      description = match[1].str();
      if (match[2].str() != std::to_string(num_nodes))
        throw InputError(where() + "it was written for " + match[2].str() + " nodes but there are " +
                         std::to_string(num_nodes) + " frames now; write it again for these frames (same " +
                         "trajectories, stride and order)");
      return;
    }
    std::string_view fields[3];
    const int count = split(content, fields);
    if (count == 0) return;
    int64_t i = 0, j = 0;
    if (count != 2 || !parse_integer(fields[0], i) || !parse_integer(fields[1], j))
      throw InputError(where() + quoted(content) + " is not an edge: give two node numbers 'i j' per line");
    for (int64_t node : {i, j})
      if (node < 0 || node >= num_nodes)
        throw InputError(where() + "node " + std::to_string(node) + " does not exist (" + nodes_phrase(num_nodes) +
                         ")");
    if (i == j)
      throw InputError(where() + "edge " + std::to_string(i) + " " + std::to_string(j) +
                       " joins a frame to itself; leave self-loops out");
    edges.emplace_back(i, j);
  });
  return ConformationGraph(num_nodes, edges, description);
}

void write_edge_list(const ConformationGraph& graph, const std::string& path) {
  std::string description = graph.description();
  std::replace_if(description.begin(), description.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  std::string text = "# " + description + ": " + std::to_string(graph.num_nodes()) + " nodes, " +
                     std::to_string(graph.num_edges()) + " edges\n";
  text.reserve(text.size() + 16 * graph.num_edges());
  char buffer[48];
  for (const auto& [i, j] : graph.edges()) {
    char* end = std::to_chars(buffer, buffer + 20, i).ptr;
    *end++ = ' ';
    end = std::to_chars(end, end + 20, j).ptr;
    *end++ = '\n';
    text.append(buffer, end);
  }
  write_file_atomically(path, text);
}

}  // namespace ept
