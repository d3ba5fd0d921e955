#include "ept/chemistry/rdkit_structure.h"

#include <GraphMol/DistGeomHelpers/Embedder.h>
#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/MonomerInfo.h>
#include <GraphMol/ROMol.h>
#include <GraphMol/SmilesParse/SmilesParse.h>

#include <filesystem>
#include <memory>

#include "ept/error.h"

namespace ept {
namespace {

std::string trimmed(const std::string& s) {
  auto b = s.find_first_not_of(' ');
  auto e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

Structure structure_from_rdkit(const RDKit::ROMol& mol, int conformer_id) {
  Structure s;
  AtomTable& t = s.table;
  const unsigned n = mol.getNumAtoms();
  bool has_residues = n > 0;
  for (unsigned i = 0; i < n; ++i)
    if (!dynamic_cast<const RDKit::AtomPDBResidueInfo*>(mol.getAtomWithIdx(i)->getMonomerInfo())) has_residues = false;
  for (unsigned i = 0; i < n; ++i) {
    const RDKit::Atom* atom = mol.getAtomWithIdx(i);
    t.atomic_numbers.push_back(atom->getAtomicNum());
    if (has_residues) {
      auto* info = static_cast<const RDKit::AtomPDBResidueInfo*>(atom->getMonomerInfo());
      t.atom_names.push_back(trimmed(info->getName()));
      t.residue_names.push_back(trimmed(info->getResidueName()));
      t.residue_ids.push_back(info->getResidueNumber());
      t.chain_ids.push_back(info->getChainId());
    }
  }
  for (const RDKit::Bond* bond : mol.bonds())
    t.bonds.push_back({static_cast<int64_t>(bond->getBeginAtomIdx()), static_cast<int64_t>(bond->getEndAtomIdx())});
  if (mol.getNumConformers() > 0) {
    const RDKit::Conformer& conf = mol.getConformer(conformer_id);
    for (unsigned i = 0; i < n; ++i) {
      const auto& p = conf.getAtomPos(i);
      s.positions.push_back({p.x, p.y, p.z});
    }
  }
  return s;
}

Structure read_mol_file(const std::string& path) {
  if (std::filesystem::is_directory(path)) throw InputError("'" + path + "' is a directory, not a MOL/SDF file");
  if (!std::filesystem::exists(path)) throw InputError("file '" + path + "' does not exist");
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(RDKit::MolFileToMol(path, /*sanitize=*/true, /*removeHs=*/false));
  } catch (const std::exception& e) {
    throw InputError("MOL/SDF file '" + path + "' could not be read: " + e.what());
  }
  if (!mol) throw InputError("MOL/SDF file '" + path + "' holds no molecule RDKit can sanitise");
  return structure_from_rdkit(*mol);
}

Structure structure_from_smiles(const std::string& smiles, int seed) {
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(RDKit::SmilesToMol(smiles));
  } catch (const std::exception& e) {
    throw InputError("SMILES '" + smiles + "' could not be parsed: " + e.what());
  }
  if (!mol) throw InputError("SMILES '" + smiles + "' could not be parsed");
  RDKit::MolOps::addHs(*mol);
  RDKit::DGeomHelpers::EmbedParameters params = RDKit::DGeomHelpers::ETKDGv3;
  params.randomSeed = seed;
  if (RDKit::DGeomHelpers::EmbedMolecule(*mol, params) < 0)
    throw InputError("SMILES '" + smiles + "': RDKit could not embed a conformer");
  return structure_from_rdkit(*mol);
}

}  // namespace ept
