#include "corpus_sources.h"

#include <GraphMol/ChemTransforms/ChemTransforms.h>
#include <GraphMol/DistGeomHelpers/Embedder.h>
#include <GraphMol/FileParsers/MolSupplier.h>
#include <GraphMol/FileParsers/SequenceParsers.h>
#include <GraphMol/ForceFieldHelpers/MMFF/MMFF.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/ROMol.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "ept/data/atomic_file.h"
#include "ept/data/checksum.h"
#include "ept/data/dcd.h"
#include "ept/data/elements.h"
#include "ept/data/vocabulary.h"
#include "ept/chemistry/rdkit_structure.h"

namespace ept::cli {
namespace {

// Hydrogens, ETKDG conformers, MMFF relaxation; the record takes the molecule's atoms and every conformer.
SourceOutcome conformers_of(RDKit::RWMol& mol, const std::string& domain, const std::string& source, int conformers,
                            int seed) {
  RDKit::DGeomHelpers::EmbedParameters params = RDKit::DGeomHelpers::ETKDGv3;
  params.randomSeed = seed;
  params.numThreads = 1;
  const auto ids = RDKit::DGeomHelpers::EmbedMultipleConfs(mol, conformers, params);
  if (ids.empty()) return {false, "ETKDG embedding failed", {}};
  std::vector<std::pair<int, double>> results;
  try {
    RDKit::MMFF::MMFFOptimizeMoleculeConfs(mol, results, 1, 500);
  } catch (const std::exception&) {
    return {false, "MMFF setup failed", {}};
  }
  SourceOutcome out{true, "", {}};
  out.record.domain = domain;
  out.record.source = source;
  for (int id : ids) {
    const Structure s = structure_from_rdkit(mol, id);
    out.record.table = s.table;
    out.record.conformers.push_back(s.positions);
  }
  return out;
}

// The Bemis–Murcko scaffold (ring systems and the linkers between them) as canonical SMILES, the group a small
// molecule is held out with; an acyclic molecule, whose scaffold is empty, is a group of its own.
std::string scaffold_group(const RDKit::ROMol& mol) {
  std::unique_ptr<RDKit::ROMol> heavy(RDKit::MolOps::removeHs(mol));
  std::unique_ptr<RDKit::ROMol> scaffold(RDKit::MurckoDecompose(*heavy));
  const std::string smiles = scaffold && scaffold->getNumAtoms() ? RDKit::MolToSmiles(*scaffold) : "";
  return smiles.empty() ? "acyclic:" + RDKit::MolToSmiles(*heavy) : "scaffold:" + smiles;
}

// The records of an SDF file as given: coordinates kept, the hydrogens the file leaves implicit added with
// coordinates; each with its outcome (source "file#k title", scaffold group) and its structure.
std::vector<std::pair<SourceOutcome, Structure>> sdf_records(const std::string& path) {
  std::vector<std::pair<SourceOutcome, Structure>> out;
  const std::string name = std::filesystem::path(path).filename().string();
  RDKit::SDMolSupplier supplier(path, /*sanitize=*/true, /*removeHs=*/false);
  for (unsigned k = 0; !supplier.atEnd(); ++k) {
    std::unique_ptr<RDKit::ROMol> read;
    try {
      read.reset(supplier.next());
    } catch (const std::exception&) {
      read.reset();
    }
    if (!read) {
      out.push_back({{false, "SDF record RDKit cannot read or sanitise", {}}, {}});
      continue;
    }
    if (read->getNumConformers() == 0 || !read->getConformer().is3D()) {
      out.push_back({{false, "SDF record without 3D coordinates", {}}, {}});
      continue;
    }
    RDKit::RWMol mol(*read);
    RDKit::MolOps::addHs(mol, /*explicitOnly=*/false, /*addCoords=*/true);
    SourceOutcome o{true, "", {}};
    o.record.domain = "small-molecule";
    std::string title;
    read->getPropIfPresent("_Name", title);
    o.record.source = name + "#" + std::to_string(k) + (title.empty() ? "" : " " + title);
    o.record.group = scaffold_group(*read);
    out.push_back({std::move(o), structure_from_rdkit(mol)});
  }
  return out;
}

// A file as a group: its name and the CRC-32 of its bytes, the same on every machine and distinct for two
// targets whose files share a name (".../shp2/protein.pdb", ".../pde2/protein.pdb").
std::string file_group(const std::string& kind, const std::string& path) {
  return kind + ":" + std::filesystem::path(path).filename().string() + " " + crc32_hex(crc32_of(read_file(path)));
}


// Residues in file order (runs of equal chain, id and name) whose name `keep` accepts: each its atom indices.
std::vector<std::vector<int64_t>> residues_of(const AtomTable& t, const std::function<bool(const std::string&)>& keep) {
  std::vector<std::vector<int64_t>> residues;
  for (size_t i = 0; i < t.size(); ++i) {
    if (!keep(t.residue_names[i])) continue;
    const bool same = !residues.empty() && t.residue_ids[residues.back().back()] == t.residue_ids[i] &&
                      t.chain_ids[residues.back().back()] == t.chain_ids[i] &&
                      t.residue_names[residues.back().back()] == t.residue_names[i];
    if (!same) residues.emplace_back();
    residues.back().push_back(static_cast<int64_t>(i));
  }
  return residues;
}

bool is_amino_acid(const std::string& residue) { return vocab::amino_acid_block_type(residue) >= 0; }

// Whether any atom of `atoms` lies within `radius` of any of `others` (positions in Å).
bool within(const std::vector<int64_t>& atoms, const std::vector<Vec3>& x, const std::vector<Vec3>& others,
            double radius) {
  for (int64_t i : atoms)
    for (const auto& y : others) {
      double d2 = 0;
      for (int k = 0; k < 3; ++k) d2 += (x[i][k] - y[k]) * (x[i][k] - y[k]);
      if (d2 <= radius * radius) return true;
    }
  return false;
}

// Appends residues (atom index lists into `s`) to a record with chain id `chain` ("" keeps the file's), with the
// bonds among the appended atoms.
void append_residues(MoleculeRecord& r, std::vector<Vec3>& conformer, const Structure& s,
                     const std::vector<std::vector<int64_t>>& residues, const std::string& chain) {
  const AtomTable& t = s.table;
  std::map<int64_t, int64_t> local;
  for (const auto& residue : residues)
    for (int64_t i : residue) {
      local[i] = static_cast<int64_t>(r.table.size());
      r.table.atomic_numbers.push_back(t.atomic_numbers[i]);
      r.table.atom_names.push_back(t.atom_names[i]);
      r.table.residue_names.push_back(t.residue_names[i]);
      r.table.residue_ids.push_back(t.residue_ids[i]);
      r.table.chain_ids.push_back(chain.empty() ? t.chain_ids[i] : chain);
      conformer.push_back(s.positions[i]);
    }
  for (auto [a, b] : t.bonds)
    if (local.count(a) && local.count(b)) r.table.bonds.push_back({local[a], local[b]});
}

}  // namespace

SourceOutcome small_molecule(const std::string& smiles, int conformers, int seed) {
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(RDKit::SmilesToMol(smiles));
  } catch (const std::exception&) {
    mol.reset();
  }
  if (!mol) return {false, "SMILES did not parse or sanitise", {}};
  const std::string group = scaffold_group(*mol);
  RDKit::MolOps::addHs(*mol);
  SourceOutcome out = conformers_of(*mol, "small-molecule", smiles, conformers, seed);
  out.record.group = group;
  return out;
}

std::vector<SourceOutcome> sdf_molecules(const std::string& path) {
  std::vector<SourceOutcome> out;
  for (auto& [o, s] : sdf_records(path)) {
    if (o.ok) {
      o.record.table = s.table;
      o.record.conformers.push_back(s.positions);
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<SourceOutcome> protein_complex(const std::vector<std::string>& files, int residues, double radius) {
  std::vector<SourceOutcome> out;
  std::string names, bytes;
  for (const auto& path : files) {
    names += (names.empty() ? "" : "+") + std::filesystem::path(path).filename().string();
    bytes += read_file(path);
  }
  const std::string group = "complex:" + names + " " + crc32_hex(crc32_of(bytes));
  std::vector<Structure> partners;
  std::vector<std::vector<std::vector<int64_t>>> chains;
  for (const auto& path : files) {
    for (auto& o : protein_fragments(path, residues)) {
      if (o.ok) o.record.group = group;  // the complex's windows and interface held out together
      out.push_back(std::move(o));
    }
    try {
      partners.push_back(read_pdb(path));
    } catch (const std::exception&) {
      return out;  // protein_fragments counted the unreadable file
    }
    chains.push_back(residues_of(partners.back().table, is_amino_acid));
  }
  // The interface: each partner's residues within `radius` of another partner's atoms, partners as segments.
  SourceOutcome o{true, "", {}};
  MoleculeRecord& r = o.record;
  r.domain = "protein-complex";
  r.source = names + ":interface";
  r.group = group;
  std::vector<Vec3> conformer;
  std::vector<bool> present(partners.size(), false);
  for (size_t p = 0; p < partners.size(); ++p) {
    std::vector<Vec3> others;
    for (size_t q = 0; q < partners.size(); ++q)
      if (q != p)
        for (const auto& residue : chains[q])
          for (int64_t i : residue) others.push_back(partners[q].positions[i]);
    std::vector<std::vector<int64_t>> near;
    for (const auto& residue : chains[p])
      if (within(residue, partners[p].positions, others, radius)) near.push_back(residue);
    present[p] = !near.empty();
    append_residues(r, conformer, partners[p], near, std::string(1, static_cast<char>('A' + p % 26)));
  }
  if (std::count(present.begin(), present.end(), true) < 2) {
    out.push_back({false, "protein complex: no interface within --interface-radius", {}});
    return out;
  }
  r.conformers.push_back(std::move(conformer));
  out.push_back(std::move(o));
  return out;
}

std::vector<SourceOutcome> complex_pockets(const std::string& pdb, const std::string& sdf, double radius) {
  const Structure protein = read_pdb(pdb);
  const AtomTable& p = protein.table;
  // Residues in file order, amino acids only (waters, ions and other ligands of the file left out).
  const auto residues = residues_of(p, is_amino_acid);
  const std::string target = std::filesystem::path(pdb).filename().string(), group = file_group("complex", pdb);
  auto ligands = sdf_records(sdf);
  std::vector<SourceOutcome> out;
  if (residues.empty()) {
    out.push_back({false, "complex PDB file holds no amino-acid residue", {}});
    return out;
  }
  for (auto& [o, ligand] : ligands) {
    if (!o.ok) {
      out.push_back(std::move(o));
      continue;
    }
    std::vector<std::vector<int64_t>> pocket;
    for (const auto& residue : residues)
      if (within(residue, protein.positions, ligand.positions, radius)) pocket.push_back(residue);
    if (pocket.empty()) {
      out.push_back({false, "complex: no protein residue within --pocket-radius of the ligand", {}});
      continue;
    }
    // The pocket's residues (one chain, "P": one segment, as PDBbind pockets are), then the ligand (chain "L").
    MoleculeRecord& rec = o.record;
    rec.domain = "protein-ligand";
    rec.source = target + ":" + rec.source;
    rec.group = group;  // every ligand of a target held out together
    std::vector<Vec3> conformer;
    append_residues(rec, conformer, protein, pocket, "P");
    const auto offset = static_cast<int64_t>(rec.table.size());
    const AtomTable& l = ligand.table;
    for (size_t i = 0; i < l.size(); ++i) {
      rec.table.atomic_numbers.push_back(l.atomic_numbers[i]);
      rec.table.atom_names.push_back(elements::symbol(l.atomic_numbers[i]) + std::to_string(i + 1));
      rec.table.residue_names.push_back("LIG");
      rec.table.residue_ids.push_back(1);
      rec.table.chain_ids.push_back("L");
      conformer.push_back(ligand.positions[i]);
    }
    for (auto [a, b] : l.bonds) rec.table.bonds.push_back({a + offset, b + offset});
    rec.conformers.push_back(std::move(conformer));
    out.push_back(std::move(o));
  }
  return out;
}

SourceOutcome peptide(const std::string& sequence, int conformers, int seed) {
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(RDKit::SequenceToMol(sequence, /*sanitize=*/true, /*lowerD=*/false));
  } catch (const std::exception&) {
    mol.reset();
  }
  if (!mol || mol->getNumAtoms() == 0) return {false, "sequence did not give a peptide", {}};
  RDKit::MolOps::addHs(*mol, false, false, nullptr, /*addResidueInfo=*/true);
  return conformers_of(*mol, "peptide", sequence, conformers, seed);
}

std::vector<SourceOutcome> protein_fragments(const std::string& pdb, int residues) {
  std::vector<SourceOutcome> out;
  Structure s;
  try {
    s = read_pdb(pdb);
  } catch (const std::exception& e) {
    out.push_back({false, "PDB file unreadable", {}});
    return out;
  }
  const AtomTable& t = s.table;
  if (t.residue_names.empty()) return {{false, "PDB file without residues", {}}};
  // Residues in file order, waters left out.
  const auto groups = residues_of(t, [](const std::string& name) { return !is_water_residue(name); });
  const std::string group = file_group("protein", pdb);
  if (groups.size() < static_cast<size_t>(residues))
    return {{false, "PDB file with fewer residues than --crop", {}}};
  for (size_t start = 0; start + residues <= groups.size(); start += residues) {
    SourceOutcome o{true, "", {}};
    MoleculeRecord& r = o.record;
    r.domain = "protein-fragment";
    r.source = pdb + ":residues " + std::to_string(start) + "-" + std::to_string(start + residues - 1);
    r.group = group;  // a protein's windows held out together
    std::vector<Vec3> conformer;
    append_residues(r, conformer, s, {groups.begin() + static_cast<std::ptrdiff_t>(start),
                                      groups.begin() + static_cast<std::ptrdiff_t>(start + residues)}, "");
    r.conformers.push_back(std::move(conformer));
    try {
      build_complex(r.table);  // reject windows the block builder refuses (unknown elements)
    } catch (const std::exception&) {
      o = {false, "fragment with atoms the vocabulary lacks", {}};
    }
    out.push_back(std::move(o));
  }
  return out;
}

SourceOutcome md_frames(const std::string& pdb, const std::string& dcd, int stride) {
  SourceOutcome o{true, "", {}};
  o.record.domain = "md-frame";
  o.record.source = dcd;
  o.record.group = file_group("md", pdb);  // every trajectory of the molecule
  o.record.table = read_pdb(pdb).table;
  DcdReader reader(dcd);
  if (reader.num_atoms() != static_cast<int64_t>(o.record.table.size()))
    return {false, "MD trajectory and topology disagree on the atom count", {}};
  DcdFrame frame;
  for (int64_t k = 0; reader.read(frame); ++k)
    if (k % stride == 0) o.record.conformers.push_back(frame.positions);
  if (o.record.conformers.empty()) return {false, "MD trajectory without frames", {}};
  return o;
}

std::vector<std::string> random_peptide_sequences(int count, int seed) {
  static const std::string letters = "ACDEFGHIKLMNPQRSTVWY";
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  std::uniform_int_distribution<int> length(3, 8), letter(0, 19);
  std::vector<std::string> sequences(count);
  for (auto& s : sequences) {
    const int n = length(rng);
    for (int k = 0; k < n; ++k) s += letters[letter(rng)];
  }
  return sequences;
}

}  // namespace ept::cli
