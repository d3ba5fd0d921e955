#pragma once
// Tensors of one or more complexes, laid out for the network: all real atoms first (in input order, complex
// after complex), then the global atoms (one per segment); blocks likewise (real blocks, then global blocks).
#include <torch/types.h>

#include <vector>

#include "ept/model/graph.h"
#include "ept/data/molecule.h"

namespace ept {

struct Batch {
  int64_t num_real = 0, num_atoms = 0, num_real_blocks = 0, num_blocks = 0, num_segments = 0, num_complexes = 0;
  // Per atom (real then global).
  torch::Tensor atom_type, position_code, block_type, atom_block;  // int64 [A]
  torch::Tensor is_global;                                         // bool [A]
  // Per pair.
  torch::Tensor receiver, sender, edge_type;  // int64 [P]
  torch::Tensor shift;                        // [P, 3] Å
  torch::Tensor enveloped;                    // [P] 0/1
  torch::Tensor self_pair;                    // int64 [A] index of the pair (i, i)
  // The pairs receiver by receiver: those of atom i are row_pairs[row_start[i] .. row_start[i + 1]), by sender.
  // Every graph is symmetric: reverse_pair[p] is the pair (j, i) of p = (i, j). (ept/model/fused.h walks these.)
  torch::Tensor row_start;     // int64 [A + 1]
  torch::Tensor row_pairs;     // int64 [P]
  torch::Tensor reverse_pair;  // int64 [P]
  // Global atoms: position = segment mean of (x + unwrap) over the segment's real atoms.
  torch::Tensor real_segment;   // int64 [R]
  torch::Tensor unwrap;         // [R, 3] Å
  torch::Tensor segment_size;   // [S]
  // Readouts.
  torch::Tensor block_size;     // [num_blocks]
  torch::Tensor block_complex;  // int64 [num_blocks]
  torch::Tensor block_segment;  // int64 [num_blocks]

  /// Floating tensors converted to `dtype`, integer ones kept.
  Batch to(torch::Dtype dtype) const;
  /// Every tensor moved to `device`.
  Batch to(torch::Device device) const;
};

/// Collates complexes with their graphs (one graph per complex, built from the same complex).
Batch make_batch(const std::vector<const Complex*>& complexes, const std::vector<const Graph*>& graphs,
                 torch::Dtype dtype = torch::kFloat64);

}  // namespace ept
