#include "ept/data/molecule.h"

#include <iostream>
#include <map>
#include <numeric>
#include <set>

#include "ept/error.h"
#include "ept/data/vocabulary.h"

namespace ept {
namespace {

enum class ResidueKind { AminoAcid, Cap, UnknownPolymer, Other };

bool is_cap(const std::string& name) {
  static const std::set<std::string> caps = {"ACE", "NME", "NH2", "NHE", "NMA"};
  return caps.count(name) > 0;
}

void check_length(size_t got, size_t n, const char* what) {
  if (got != 0 && got != n)
    throw InputError(std::string(what) + " has " + std::to_string(got) + " entries but there are " +
                     std::to_string(n) + " atoms; give one per atom or none");
}

struct UnionFind {
  std::vector<int64_t> parent;
  explicit UnionFind(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  int64_t find(int64_t a) { return parent[a] == a ? a : parent[a] = find(parent[a]); }
  void unite(int64_t a, int64_t b) { parent[find(a)] = find(b); }
};

}  // namespace

Complex build_complex(const AtomTable& t) {
  const size_t n = t.size();
  if (n == 0) throw InputError("the molecule has no atoms");
  check_length(t.atom_names.size(), n, "atom_names");
  check_length(t.residue_names.size(), n, "residue_names");
  check_length(t.residue_ids.size(), n, "residue_ids");
  check_length(t.chain_ids.size(), n, "chain_ids");

  Complex c;
  c.atom_type.resize(n);
  for (size_t i = 0; i < n; ++i) {
    int z = t.atomic_numbers[i];
    if (z < 1 || z > vocab::kNumElements)
      throw InputError("atom " + std::to_string(i) + ": atomic number " + std::to_string(z) +
                       " is not an element the vocabulary knows (1..118)");
    c.atom_type[i] = vocab::atom_type(z);
  }
  std::vector<std::vector<int64_t>> neighbours(n);
  for (size_t k = 0; k < t.bonds.size(); ++k) {
    auto [a, b] = t.bonds[k];
    if (a < 0 || b < 0 || a >= static_cast<int64_t>(n) || b >= static_cast<int64_t>(n) || a == b)
      throw InputError("bond " + std::to_string(k) + " (" + std::to_string(a) + ", " + std::to_string(b) +
                       ") does not join two different atoms in 0.." + std::to_string(n - 1));
    neighbours[a].push_back(b);
    neighbours[b].push_back(a);
  }
  c.bonds = t.bonds;

  // Residues: runs of equal (chain, id, name).
  const bool has_residues = !t.residue_names.empty();
  std::vector<int64_t> residue(n, 0);
  std::vector<std::string> residue_name;
  for (size_t i = 0; i < n; ++i) {
    bool same = i > 0 && has_residues && t.residue_names[i] == t.residue_names[i - 1] &&
                (t.residue_ids.empty() || t.residue_ids[i] == t.residue_ids[i - 1]) &&
                (t.chain_ids.empty() || t.chain_ids[i] == t.chain_ids[i - 1]);
    if (i > 0 && !has_residues) same = true;  // no residue information: one pseudo-residue
    if (i == 0 || !same) residue_name.push_back(has_residues ? t.residue_names[i] : "");
    residue[i] = static_cast<int64_t>(residue_name.size()) - 1;
  }
  const size_t num_residues = residue_name.size();
  std::vector<ResidueKind> kind(num_residues, ResidueKind::Other);
  for (size_t r = 0; r < num_residues; ++r) {
    if (vocab::amino_acid_block_type(residue_name[r]) >= 0) kind[r] = ResidueKind::AminoAcid;
    else if (is_cap(residue_name[r])) kind[r] = ResidueKind::Cap;
  }
  // A residue of another name bonded to an amino acid is part of the polymer: the unknown block.
  for (size_t i = 0; i < n; ++i)
    for (int64_t j : neighbours[i])
      if (kind[residue[i]] == ResidueKind::Other && kind[residue[j]] == ResidueKind::AminoAcid)
        kind[residue[i]] = ResidueKind::UnknownPolymer;

  auto label_prefix = [&](size_t i) {
    std::string s;
    if (!t.chain_ids.empty()) s += t.chain_ids[i] + ":";
    if (has_residues) s += t.residue_names[i] + (t.residue_ids.empty() ? "" : std::to_string(t.residue_ids[i])) + ":";
    return s;
  };

  // Blocks, in order of the atom that opens them.
  c.atom_block.assign(n, -1);
  c.position_code.assign(n, vocab::kPosSmall);
  std::vector<int64_t> residue_block(num_residues, -1);
  std::vector<int64_t> block_first_atom;
  auto new_block = [&](int64_t type, std::string label, size_t first) {
    c.block_type.push_back(type);
    c.block_label.push_back(std::move(label));
    block_first_atom.push_back(static_cast<int64_t>(first));
    return c.num_blocks() - 1;
  };
  for (size_t i = 0; i < n; ++i) {
    const int64_t r = residue[i];
    const int z = t.atomic_numbers[i];
    switch (kind[r]) {
      case ResidueKind::AminoAcid:
      case ResidueKind::UnknownPolymer: {
        if (residue_block[r] < 0) {
          int64_t type = kind[r] == ResidueKind::AminoAcid ? vocab::amino_acid_block_type(residue_name[r])
                                                            : vocab::kBlockUnknown;
          residue_block[r] = new_block(type, label_prefix(i).substr(0, label_prefix(i).size() - 1), i);
          if (kind[r] == ResidueKind::UnknownPolymer) {
            c.warnings.push_back("residue '" + residue_name[r] + "' at atom " + std::to_string(i) +
                                 " is not a standard amino acid; it is modelled as the unknown block");
          }
        }
        c.atom_block[i] = residue_block[r];
        if (kind[r] == ResidueKind::AminoAcid && !t.atom_names.empty())
          c.position_code[i] = vocab::position_code(t.atom_names[i], z);
        break;
      }
      case ResidueKind::Cap:
      case ResidueKind::Other:
        if (z != 1) {
          std::string name = t.atom_names.empty() ? "" : t.atom_names[i];
          c.atom_block[i] = new_block(vocab::element_block_type(z),
                                      label_prefix(i) + (name.empty() ? "atom" + std::to_string(i) : name), i);
        }
        break;
    }
  }
  // Hydrogens of small-molecule blocks join a bonded heavy atom; a lone hydrogen is a block of its own.
  for (size_t i = 0; i < n; ++i) {
    if (c.atom_block[i] >= 0) continue;
    for (int64_t j : neighbours[i])
      if (t.atomic_numbers[j] != 1 && c.atom_block[j] >= 0) {
        c.atom_block[i] = c.atom_block[j];
        break;
      }
    if (c.atom_block[i] < 0)
      c.atom_block[i] = new_block(vocab::element_block_type(1), label_prefix(i) + "H" + std::to_string(i), i);
  }

  // Segments: polymer blocks by chain; every connected non-polymer molecule on its own.
  UnionFind molecules(n);
  for (auto [a, b] : t.bonds) molecules.unite(a, b);
  std::map<std::string, int64_t> segment_of_key;
  c.block_segment.resize(c.block_type.size());
  for (size_t b = 0; b < c.block_type.size(); ++b) {
    const int64_t i = block_first_atom[b];
    const ResidueKind k = kind[residue[i]];
    std::string key = k == ResidueKind::Other ? "molecule:" + std::to_string(molecules.find(i))
                                              : "chain:" + (t.chain_ids.empty() ? std::string() : t.chain_ids[i]);
    auto [it, inserted] = segment_of_key.emplace(key, c.num_segments);
    if (inserted) ++c.num_segments;
    c.block_segment[b] = it->second;
  }
  for (const auto& w : c.warnings) std::cerr << "ept: warning: " << w << "\n";
  return c;
}

}  // namespace ept
