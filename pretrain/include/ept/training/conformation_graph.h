#pragma once
// A graph over conformations (the nodes are MD frames) for structure-inducing finetuning (SIPT): which frames
// belong together. Built from time (frames within τ of each other in one trajectory), from geometry (RMSD after
// optimal superposition within a radius), from state labels (frames with the same label), or read from a user's
// edge list. Undirected, no self-loops, neighbours sorted; connected components known.
//
// Nodes are numbered trajectory by trajectory, frame by frame (after any stride): node = offset of its
// trajectory + its frame's index among the frames kept.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ept/model/neighbors.h"  // Vec3

namespace ept {

class ConformationGraph {
 public:
  ConformationGraph() = default;
  /// From undirected edges (i, j), in any order and with repeats; InputError naming the first edge with a node
  /// outside [0, num_nodes) or a self-loop (i == j). `description` says how it was built (stored with it).
  ConformationGraph(int64_t num_nodes, const std::vector<std::pair<int64_t, int64_t>>& edges,
                    std::string description = "edge list");

  int64_t num_nodes() const { return static_cast<int64_t>(offsets_.size()) - 1; }
  int64_t num_edges() const { return static_cast<int64_t>(neighbours_.size()) / 2; }  // undirected
  /// Neighbours of `node`, sorted ascending: [begin, end) into one array.
  const int64_t* neighbours_begin(int64_t node) const { return neighbours_.data() + offsets_[node]; }
  const int64_t* neighbours_end(int64_t node) const { return neighbours_.data() + offsets_[node + 1]; }
  int64_t degree(int64_t node) const { return offsets_[node + 1] - offsets_[node]; }
  bool has_edge(int64_t i, int64_t j) const;  // binary search; false for a node outside the graph
  /// Connected component of each node (numbered 0.. in order of their smallest node), and how many there are.
  const std::vector<int64_t>& component() const { return component_; }
  int64_t num_components() const { return num_components_; }
  const std::string& description() const { return description_; }
  /// Every undirected edge once, i < j, sorted.
  std::vector<std::pair<int64_t, int64_t>> edges() const;
  /// The subgraph on `nodes` (renumbered 0.. in the order given; edges to nodes outside dropped).
  ConformationGraph subgraph(const std::vector<int64_t>& nodes) const;

 private:
  std::vector<int64_t> offsets_{0}, neighbours_, component_;
  int64_t num_components_ = 0;
  std::string description_;
};

/// Frames within `tau` (≥ 1) frames of each other in the same trajectory: i ~ j when 0 < |i − j| ≤ tau.
/// `frames_per_trajectory`: how many nodes each trajectory has, in node order.
ConformationGraph time_lag_graph(const std::vector<int64_t>& frames_per_trajectory, int64_t tau);

/// RMSD of two conformations (Å) after optimal superposition (translation and rotation, no reflection) of the atoms
/// `atoms` (all when empty). InputError for conformations of different sizes or an atom outside them.
double superposed_rmsd(const std::vector<Vec3>& a, const std::vector<Vec3>& b, const std::vector<int64_t>& atoms = {});

/// Frames whose RMSD after optimal superposition on `atoms` (all when empty) is ≤ `radius` Å. Exact (the same
/// edges as comparing every pair), but pairs that the triangle inequality through a few reference frames rules
/// out are never superposed, so 10⁵ frames of a small molecule take seconds to minutes (the more the frames spread
/// in many directions at once, the less the references rule out), not hours. `threads` ≥ 1. InputError
/// for a radius that is not a finite number > 0, frames of different sizes, an atom outside them, or a coordinate
/// that is not finite.
ConformationGraph rmsd_graph(const std::vector<std::vector<Vec3>>& frames, double radius,
                             const std::vector<int64_t>& atoms = {}, int threads = 1);

/// Frames with the same state label (≥ 0); a negative label means unlabelled (no edges). Each label is a clique:
/// more than `max_edges` edges in all are refused, before allocating, with an InputError naming the largest label
/// and suggesting a stride.
ConformationGraph label_graph(const std::vector<int64_t>& labels, int64_t max_edges = 50'000'000);

/// State labels from a text file: one integer per line, one line per node ('#' comments and blank lines skipped).
/// InputError naming the file and line for anything else, and for a count other than `num_nodes`.
std::vector<int64_t> read_labels(const std::string& path, int64_t num_nodes);

/// An edge list file: one edge "i j" per line (0-based node numbers, whitespace separated; '#' comments and blank
/// lines skipped). InputError naming the file and line of a malformed line or of a node that does not exist.
ConformationGraph read_edge_list(const std::string& path, int64_t num_nodes);
/// Writes the edges, one "i j" line each (i < j), atomically: what read_edge_list reads back.
void write_edge_list(const ConformationGraph& graph, const std::string& path);

}  // namespace ept
