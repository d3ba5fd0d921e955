#pragma once
// Where pretraining molecules come from: each function returns one record, or a failure reason.
#include <string>
#include <vector>

#include "ept/data/dataset.h"

namespace ept::cli {

struct SourceOutcome {
  bool ok = false;
  std::string failure;  // reason when not ok
  MoleculeRecord record;
};

/// A small molecule from SMILES: hydrogens added, `conformers` ETKDG conformers, each relaxed with MMFF.
SourceOutcome small_molecule(const std::string& smiles, int conformers, int seed);
/// A peptide from its one-letter sequence (RDKit), hydrogens added with residue information, conformers as above.
SourceOutcome peptide(const std::string& sequence, int conformers, int seed);
/// Local scopes of a PDB file: windows of `residues` consecutive residues (waters left out), one record each.
std::vector<SourceOutcome> protein_fragments(const std::string& pdb, int residues);
/// The molecules of an SDF file as given: each record's coordinates kept, hydrogens the file leaves implicit added
/// with coordinates; one record each. Records RDKit cannot read, or without 3D coordinates, are failures.
std::vector<SourceOutcome> sdf_molecules(const std::string& path);
/// A protein complex given as the files of its partners: the windows of each (as protein_fragments) and the
/// interface, the residues of each partner within `radius` Å of another partner's atoms, one chain (segment) per
/// partner ("A", "B", ...). All grouped as one complex.
std::vector<SourceOutcome> protein_complex(const std::vector<std::string>& files, int residues, double radius);
/// Protein–ligand pockets: for each posed ligand of `sdf` (as given, implicit hydrogens added), the amino-acid
/// residues of `pdb` with an atom within `radius` Å of a ligand atom, as one chain ("P"), plus the ligand ("L",
/// residue LIG): two segments. Grouped by the PDB file (a target's ligands are held out together).
std::vector<SourceOutcome> complex_pockets(const std::string& pdb, const std::string& sdf, double radius);
/// Frames of an MD trajectory (DCD) of the atoms of `pdb`: one record, every `stride`-th frame a conformer.
SourceOutcome md_frames(const std::string& pdb, const std::string& dcd, int stride);

/// `count` random sequences of 3 to 8 amino acids (deterministic for a seed).
std::vector<std::string> random_peptide_sequences(int count, int seed);

}  // namespace ept::cli
