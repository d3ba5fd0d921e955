#pragma once
// Molecules as EPT blocks: the topology half of the model's input (positions come per frame).
//
// Rules (shared/DESIGN.md): an amino-acid residue is one block with position codes from its atom names; any
// other molecule is one block per heavy atom plus its bonded hydrogens (water and ions are element blocks);
// a non-standard residue bonded to amino acids is the unknown block (with a warning); the capping groups
// ACE/NME/NH2 stay small-molecule blocks inside their chain. Segments: chains of the polymer, and each
// connected non-polymer molecule (ligand, water, ion) on its own. The model adds one global block per segment.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ept {

/// Plain per-atom arrays, the form the OpenMM plugin passes. Optional arrays may be empty; when given they must
/// have one entry per atom. Residues are runs of consecutive atoms with equal (chain id, residue id, name).
struct AtomTable {
  std::vector<int> atomic_numbers;
  std::vector<std::string> atom_names;
  std::vector<std::string> residue_names;
  std::vector<int64_t> residue_ids;
  std::vector<std::string> chain_ids;
  std::vector<std::array<int64_t, 2>> bonds;  // atom index pairs

  size_t size() const { return atomic_numbers.size(); }
};

/// A molecular system as blocks and segments. Atom order is the input order.
struct Complex {
  std::vector<int64_t> atom_type;      // per atom, vocab::atom_type
  std::vector<int64_t> position_code;  // per atom, vocab::PositionCode
  std::vector<int64_t> atom_block;     // per atom, block index
  std::vector<int64_t> block_type;     // per block
  std::vector<int64_t> block_segment;  // per block, segment index
  std::vector<std::string> block_label;
  std::vector<std::array<int64_t, 2>> bonds;
  int64_t num_segments = 0;
  std::vector<std::string> warnings;  // e.g. unknown residues

  int64_t num_atoms() const { return static_cast<int64_t>(atom_type.size()); }
  int64_t num_blocks() const { return static_cast<int64_t>(block_type.size()); }
};

/// Builds blocks and segments; throws InputError naming the atom and the problem for inconsistent arrays or
/// unknown elements. Unknown residues become the unknown block and are reported in Complex::warnings.
Complex build_complex(const AtomTable& table);

}  // namespace ept
