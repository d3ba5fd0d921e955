#pragma once
// Hyper-parameters of the EPT network; stored in every checkpoint so a model always rebuilds with its sizes.
#include <cstdint>
#include <string>

#include "ept/model/graph.h"

namespace ept {

struct ModelConfig {
  int64_t hidden = 64;          // d: scalar channels per atom, and vector channels (3 × d)
  int64_t ffn = 128;            // feed-forward width
  int64_t heads = 4;            // attention heads; d must divide by heads
  int64_t layers = 3;           // attention + feed-forward blocks
  int64_t radial = 16;          // Gaussian radial functions on [0, cutoff]
  int64_t edge_dim = 16;        // edge-type embedding width
  int64_t qk_factor = 1;        // query/key width per head = qk_factor · d / heads (the reference model uses 4;
                                // each unit costs a [pairs, d] gather per layer)
  double cutoff = 5.0;          // Å; radial basis, envelope and the graph's neighbour search (both modes)
  AttentionMode attention = AttentionMode::Sparse;
  bool envelope = true;         // weight cutoff pairs by the smooth envelope (switch off only for checks)
  double message_norm = 16.0;   // neighbour sums are divided by this constant (a mean would jump at the cutoff)
  double vector_eps = 1e-6;     // inside √(|v|² + ε): keeps vector norms differentiable at zero

  /// Throws InputError naming the first invalid field.
  void validate() const;
  std::string to_json() const;
  /// Parses and validates; unknown keys and wrong types raise InputError naming the key.
  static ModelConfig from_json(const std::string& text);
  GraphOptions graph_options(const Box& box = Box::none()) const { return {attention, cutoff, envelope, box}; }
};

}  // namespace ept
