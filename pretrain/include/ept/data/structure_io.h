#pragma once
// Reading PDB files into an AtomTable + coordinates (Å): residues, chains and bonds, no chemistry toolkit needed.
// SMILES and SDF/MOL files, which need chemistry perception, are read by ept/chemistry/rdkit_structure.h.
#include <array>
#include <string>
#include <vector>

#include "ept/data/molecule.h"

namespace ept {

/// An AtomTable with one conformation, in Å.
struct Structure {
  AtomTable table;
  std::vector<std::array<double, 3>> positions;
};

/// A PDB file: ATOM and HETATM records of the first model (the first alternate location of each atom), hydrogens
/// kept; residue names of up to 4 letters (CHARMM's TIP3), residue numbers and serials in decimal or, past their
/// columns, hexadecimal. Elements from columns 77–78, else from the atom name. Bonds: the CONECT records (wherever
/// they stand) plus every pair closer than the sum of their covalent radii + 0.45 Å (and farther than 0.4 Å; never
/// hydrogen–hydrogen), the usual proximity rule for PDB files, which list no bonds within standard residues —
/// across residues only between elements that bond there (H, B, C, N, O, Si, P, S, As, Se), never to a water.
Structure read_pdb(const std::string& path);
/// The same from the text of a PDB file; `label` names it in errors.
Structure parse_pdb(const std::string& text, const std::string& label);
/// Whether a residue name is a water's (HOH, WAT, SOL, CHARMM's TIP3, ...).
bool is_water_residue(const std::string& residue);
/// The proximity rule alone: pairs (i < j) closer than their covalent radii + 0.45 Å, farther than 0.4 Å, never
/// hydrogen–hydrogen, in ascending order.
std::vector<std::array<int64_t, 2>> proximity_bonds(const std::vector<int>& atomic_numbers,
                                                    const std::vector<std::array<double, 3>>& positions);

}  // namespace ept
