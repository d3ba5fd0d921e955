#pragma once
// Structures that need chemistry perception, built with RDKit: from SMILES (one ETKDG conformer), from SDF/MOL
// files and from RDKit molecules. Part of libept_chemistry, which the `ept` command and the corpus builder link;
// the inference core and the OpenMM plugin do not (a Python process then holds only the rdkit wheel's RDKit).
#include <string>

#include "ept/data/structure_io.h"

namespace RDKit {
class ROMol;
}

namespace ept {

/// Atoms, residue information (where RDKit has it) and bonds of an RDKit molecule; positions from `conformer_id`
/// if the molecule has conformers.
Structure structure_from_rdkit(const RDKit::ROMol& mol, int conformer_id = -1);
/// The first molecule of an SDF or MOL file, hydrogens kept as written.
Structure read_mol_file(const std::string& path);
/// A molecule from SMILES with explicit hydrogens and one ETKDG conformer (deterministic for a given seed).
Structure structure_from_smiles(const std::string& smiles, int seed = 42);

}  // namespace ept
