#pragma once
// Vocabularies of EPT's unified block representation: atoms, blocks and position codes.
// Indices are stable within a vocabulary version; checkpoints store the version they were trained with.
#include <cstdint>
#include <string>

namespace ept::vocab {

constexpr int kVersion = 1;
constexpr int kNumElements = 118;

// Atom vocabulary: specials, then elements 1..118.
constexpr int64_t kAtomPad = 0, kAtomMask = 1, kAtomGlobal = 2;
constexpr int64_t kAtomElementOffset = 2;  // atom index = offset + atomic number
constexpr int64_t kNumAtomTypes = kAtomElementOffset + kNumElements + 1;

// Block vocabulary: specials, 20 amino acids, then one block per element (small-molecule heavy atom).
constexpr int64_t kBlockPad = 0, kBlockMask = 1, kBlockUnknown = 2, kBlockGlobal = 3;
constexpr int64_t kBlockAminoAcidOffset = 4;
constexpr int64_t kNumAminoAcids = 20;
constexpr int64_t kBlockElementOffset = kBlockAminoAcidOffset + kNumAminoAcids - 1;  // + atomic number
constexpr int64_t kNumBlockTypes = kBlockElementOffset + kNumElements + 1;

// Position codes: specials, PDB remoteness letters, and `sml` for every small-molecule atom.
enum PositionCode : int64_t {
  kPosPad = 0, kPosMask, kPosGlobal, kPosBackbone /* '' */, kPosA, kPosB, kPosG, kPosD, kPosE,
  kPosZ, kPosH, kPosXT, kPosP, kPosSmall, kNumPositionCodes
};

/// Atom type of an element (1..118).
int64_t atom_type(int atomic_number);
/// Block type of an element block (a small-molecule heavy atom, water, ion).
int64_t element_block_type(int atomic_number);
/// Block type of a residue name, accepting common force-field variants (HID, CYX, ...); -1 if not an amino acid.
int64_t amino_acid_block_type(const std::string& residue_name);
/// Position code of a PDB atom name inside an amino acid ("CA" -> A, "OXT" -> XT, "N" -> backbone).
int64_t position_code(const std::string& atom_name, int atomic_number);
/// Human-readable name of a block type ("ALA", "C", "<global>").
std::string block_name(int64_t block_type);

}  // namespace ept::vocab
