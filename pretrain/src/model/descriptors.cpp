#include "ept/model/descriptors.h"

#include "ept/error.h"
#include "ept/model/layers.h"

namespace ept {

DescriptorLevel descriptor_level(const std::string& name) {
  if (name == "atom") return DescriptorLevel::Atom;
  if (name == "block") return DescriptorLevel::Block;
  if (name == "segment") return DescriptorLevel::Segment;
  if (name == "molecule") return DescriptorLevel::Molecule;
  throw InputError("unknown descriptor level '" + name + "' (use atom, block, segment or molecule)");
}

const char* to_string(DescriptorLevel level) {
  switch (level) {
    case DescriptorLevel::Atom: return "atom";
    case DescriptorLevel::Block: return "block";
    case DescriptorLevel::Segment: return "segment";
    case DescriptorLevel::Molecule: return "molecule";
  }
  return "?";
}

namespace {

// Σ rows of each group / √(members), groups numbered 0..count-1.
torch::Tensor pool(const torch::Tensor& rows, const torch::Tensor& group, int64_t count) {
  const auto sums = torch::zeros({count, rows.size(1)}, rows.options()).index_add(0, group, rows);
  const auto members = torch::zeros({count}, rows.options()).index_add(0, group, torch::ones_like(group, rows.options()));
  return sums / members.clamp_min(1).sqrt().unsqueeze(-1);
}

}  // namespace

void check_descriptor_level(DescriptorLevel level) {
  const int code = static_cast<int>(level);
  if (code < 0 || code > 3)
    throw InputError("descriptor level " + std::to_string(code) +
                     " is not one of atom (0), block (1), segment (2) or molecule (3)");
}

torch::Tensor descriptors(const ModelOutput& out, const Batch& b, DescriptorLevel level, double vector_eps) {
  check_descriptor_level(level);
  const auto atoms = torch::cat({out.scalars, vector_norm(out.vectors, vector_eps)}, -1).slice(0, 0, b.num_real);
  if (level == DescriptorLevel::Atom) return atoms;
  const auto blocks = pool(atoms, b.atom_block.slice(0, 0, b.num_real), b.num_real_blocks);
  if (level == DescriptorLevel::Block) return blocks;
  const auto segments = pool(blocks, b.block_segment.slice(0, 0, b.num_real_blocks), b.num_segments);
  if (level == DescriptorLevel::Segment) return segments;
  // Segments of complex c: the block_segment of global block s is s, and its block_complex is c.
  const auto segment_complex = b.block_complex.slice(0, b.num_real_blocks, b.num_blocks);
  return pool(segments, segment_complex, b.num_complexes);
}

std::vector<std::string> descriptor_labels(const Complex& c, DescriptorLevel level) {
  check_descriptor_level(level);
  std::vector<std::string> labels;
  switch (level) {
    case DescriptorLevel::Atom:
      for (int64_t i = 0; i < c.num_atoms(); ++i) labels.push_back(c.block_label[c.atom_block[i]] + "/atom" + std::to_string(i));
      break;
    case DescriptorLevel::Block: labels = c.block_label; break;
    case DescriptorLevel::Segment:
      for (int64_t s = 0; s < c.num_segments; ++s) labels.push_back("segment" + std::to_string(s));
      break;
    case DescriptorLevel::Molecule: labels.push_back("molecule"); break;
  }
  return labels;
}

}  // namespace ept
