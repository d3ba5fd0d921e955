#include "ept/data/vocabulary.h"

#include <array>
#include <cctype>
#include <map>

#include "ept/data/elements.h"
#include "ept/error.h"

namespace ept::vocab {
namespace {

// The 20 standard amino acids, in block-vocabulary order.
constexpr std::array<const char*, kNumAminoAcids> kAminoAcids = {
    "ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE",
    "LEU", "LYS", "MET", "PHE", "PRO", "SER", "THR", "TRP", "TYR", "VAL"};

// Protonation and force-field spellings of the standard residues.
const std::map<std::string, std::string>& residue_aliases() {
  static const std::map<std::string, std::string> aliases = {
      {"HID", "HIS"}, {"HIE", "HIS"}, {"HIP", "HIS"}, {"HSD", "HIS"}, {"HSE", "HIS"}, {"HSP", "HIS"},
      {"CYX", "CYS"}, {"CYM", "CYS"}, {"ASH", "ASP"}, {"GLH", "GLU"}, {"LYN", "LYS"}};
  return aliases;
}

}  // namespace

int64_t atom_type(int atomic_number) {
  if (atomic_number < 1 || atomic_number > kNumElements)
    throw InputError("atomic number " + std::to_string(atomic_number) + " is not an element (1..118)");
  return kAtomElementOffset + atomic_number;
}

int64_t element_block_type(int atomic_number) {
  atom_type(atomic_number);  // validates
  return kBlockElementOffset + atomic_number;
}

int64_t amino_acid_block_type(const std::string& residue_name) {
  std::string name = residue_name;
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto alias = residue_aliases().find(name);
  if (alias != residue_aliases().end()) name = alias->second;
  for (size_t k = 0; k < kAminoAcids.size(); ++k)
    if (name == kAminoAcids[k]) return kBlockAminoAcidOffset + static_cast<int64_t>(k);
  return -1;
}

int64_t position_code(const std::string& atom_name, int atomic_number) {
  std::string name;
  for (char c : atom_name)
    if (!std::isspace(static_cast<unsigned char>(c))) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  size_t start = 0;
  while (start < name.size() && std::isdigit(static_cast<unsigned char>(name[start]))) ++start;  // "1HB" style
  name = name.substr(start);
  std::string symbol = elements::symbol(atomic_number);
  for (auto& c : symbol) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string rest = name.rfind(symbol, 0) == 0 ? name.substr(symbol.size()) : (name.empty() ? "" : name.substr(1));
  if (rest.rfind("XT", 0) == 0) return kPosXT;
  if (rest.empty()) return kPosBackbone;
  switch (rest[0]) {
    case 'A': return kPosA;
    case 'B': return kPosB;
    case 'G': return kPosG;
    case 'D': return kPosD;
    case 'E': return kPosE;
    case 'Z': return kPosZ;
    case 'H': return kPosH;
    case 'P': return kPosP;
    default: return kPosBackbone;  // digits: N-terminal H1/H2/H3
  }
}

std::string block_name(int64_t block_type) {
  switch (block_type) {
    case kBlockPad: return "<pad>";
    case kBlockMask: return "<mask>";
    case kBlockUnknown: return "<unknown>";
    case kBlockGlobal: return "<global>";
    default: break;
  }
  if (block_type >= kBlockAminoAcidOffset && block_type < kBlockAminoAcidOffset + kNumAminoAcids)
    return kAminoAcids[block_type - kBlockAminoAcidOffset];
  if (block_type > kBlockElementOffset && block_type < kNumBlockTypes)
    return elements::symbol(static_cast<int>(block_type - kBlockElementOffset));
  return "<invalid>";
}

}  // namespace ept::vocab
