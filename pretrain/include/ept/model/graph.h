#pragma once
// The attention graph of one complex: which atom pairs interact, their edge types, image shifts and whether
// the smooth cutoff envelope weights them. Global atoms (one per segment, at the segment centroid) follow the
// real atoms: atom index num_real + s is the global atom of segment s.
#include <cstdint>
#include <vector>

#include "ept/data/molecule.h"
#include "ept/model/neighbors.h"

namespace ept {

/// Block-level edge types: fixed by the topology, so they never switch during dynamics.
enum EdgeType : int64_t {
  kEdgeSelf = 0,
  kEdgeIntraBlock,    // same block
  kEdgeBonded,        // blocks joined by a bond of the topology
  kEdgeSpatial,       // other blocks of the same segment
  kEdgeCrossSegment,  // different segments
  kEdgeGlobal,        // a global atom with an atom of its own segment
  kNumEdgeTypes
};

/// The graph is the same in both modes: pairs within the cutoff (cell list), O(N); global atoms always see their own
/// segment. It carries the embedding's messages and the attention's pair bias. Sparse: attention over the graph's
/// pairs. Dense: attention over every two atoms of a complex, as in the paper, with the pair bias on the graph's
/// edges weighted by the envelope (small molecules, checking; no box).
enum class AttentionMode { Dense, Sparse };

struct GraphOptions {
  AttentionMode mode = AttentionMode::Sparse;
  double cutoff = 5.0;   // Å
  bool envelope = true;  // weight cutoff pairs by the smooth envelope u(r / cutoff)
  Box box;
};

struct Graph {
  int64_t num_real = 0;
  int64_t num_atoms = 0;               // real + one global per segment
  std::vector<int64_t> receiver;       // i of pair (i, j), sorted
  std::vector<int64_t> sender;         // j
  std::vector<double> shift;           // 3 per pair (Å): r_ij = x_i − x_j + shift_ij
  std::vector<int64_t> edge_type;      // EdgeType per pair
  std::vector<uint8_t> enveloped;      // 1 where the envelope multiplies the pair's weight
  std::vector<double> unwrap;          // 3 per real atom: global position = segment mean of (x + unwrap)

  int64_t num_pairs() const { return static_cast<int64_t>(receiver.size()); }
};

/// Segment centroids (Å) from real-atom positions and the graph's unwrap shifts.
std::vector<Vec3> segment_centroids(const Complex& complex, const std::vector<Vec3>& positions,
                                    const std::vector<double>& unwrap);

/// Builds the graph for real-atom positions (Å). Throws InputError for non-finite positions, a position count
/// that does not match the complex, dense mode with a periodic box, or a box too small for the cutoff.
Graph build_graph(const Complex& complex, const std::vector<Vec3>& positions, const GraphOptions& options);

}  // namespace ept
