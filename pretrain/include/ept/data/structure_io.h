#pragma once
// Reading molecules into AtomTable + coordinates (Å) with RDKit: PDB files, SDF/MOL files, SMILES.
#include <array>
#include <string>
#include <vector>

#include "ept/molecule.h"

namespace RDKit {
class ROMol;
}

namespace ept {

/// An AtomTable with one conformation, in Å.
struct Structure {
  AtomTable table;
  std::vector<std::array<double, 3>> positions;
};

/// Atoms, residue information (where RDKit has it) and bonds of an RDKit molecule; positions from `conformer_id`
/// if the molecule has conformers.
Structure structure_from_rdkit(const RDKit::ROMol& mol, int conformer_id = -1);
/// A PDB file with residues, chains and bonds (CONECT records plus RDKit's proximity bonding); hydrogens kept.
Structure read_pdb(const std::string& path);
/// The first molecule of an SDF or MOL file, hydrogens kept as written.
Structure read_mol_file(const std::string& path);
/// A molecule from SMILES with explicit hydrogens and one ETKDG conformer (deterministic for a given seed).
Structure structure_from_smiles(const std::string& smiles, int seed = 42);

}  // namespace ept
