#pragma once
// Invariant descriptors from a model evaluation, at four levels. Every row is [h ; |V|] (2·d columns): the
// scalar features and the norms of the vector features. Block, segment and molecule rows sum their members'
// rows and divide by √(number of members), as the readouts do (z_b = Σ h_i / √n_b), so they stay extensive.
#include <torch/types.h>

#include <string>

#include "ept/model/batch.h"
#include "ept/model/model.h"
#include "ept/model/modes.h"

namespace ept {

/// "atom", "block", "segment" or "molecule" -> level; InputError naming the word otherwise.
DescriptorLevel descriptor_level(const std::string& name);
const char* to_string(DescriptorLevel level);
/// InputError unless `level` is one of the four (a value cast from an integer may be none of them).
void check_descriptor_level(DescriptorLevel level);

/// Rows in topology order: real atoms, real blocks, segments, or one row per complex of the batch.
torch::Tensor descriptors(const ModelOutput& output, const Batch& batch, DescriptorLevel level, double vector_eps);

/// The row labels of a level for one complex (atoms by index, blocks by their labels).
std::vector<std::string> descriptor_labels(const Complex& complex, DescriptorLevel level);

}  // namespace ept
