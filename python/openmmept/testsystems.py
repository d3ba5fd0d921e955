"""Small molecular systems built on the spot (nothing is downloaded): for examples, tests and benchmarks."""
import io

import openmm.app as app
from rdkit import Chem
from rdkit.Chem import AllChem

# Heavy atoms of ACE-ALA-NME in the order of the SMILES below: (residue, residue number, atom name).
_ALANINE_DIPEPTIDE_SMILES = "CC(=O)NC(C)C(=O)NC"
_ALANINE_DIPEPTIDE_NAMES = [("ACE", 1, "CH3"), ("ACE", 1, "C"), ("ACE", 1, "O"), ("ALA", 2, "N"), ("ALA", 2, "CA"),
                            ("ALA", 2, "CB"), ("ALA", 2, "C"), ("ALA", 2, "O"), ("NME", 3, "N"), ("NME", 3, "C")]


def alanine_dipeptide(seed: int = 11, forcefield: str = "amber14-all.xml"):
    """ACE-ALA-NME: heavy atoms embedded by RDKit (ETKDG, L-alanine), hydrogens with their PDB names added by
    OpenMM's Modeller for ``forcefield``. Returns (topology, positions)."""
    mol = Chem.AddHs(Chem.MolFromSmiles("CC(=O)N[C@@H](C)C(=O)NC"))
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    if AllChem.EmbedMolecule(mol, params) != 0:
        raise RuntimeError("RDKit could not embed alanine dipeptide")
    AllChem.MMFFOptimizeMolecule(mol)
    conf = mol.GetConformer()
    lines = []
    for k, (residue, number, name) in enumerate(_ALANINE_DIPEPTIDE_NAMES):
        p = conf.GetAtomPosition(k)
        element = name[0]
        lines.append(f"HETATM{k + 1:5d} {name:<4s} {residue:3s} A{number:4d}    "
                     f"{p.x:8.3f}{p.y:8.3f}{p.z:8.3f}  1.00  0.00          {element:>2s}")
    pdb = app.PDBFile(io.StringIO("\n".join(lines) + "\nEND\n"))
    modeller = app.Modeller(pdb.topology, pdb.positions)
    modeller.addHydrogens(app.ForceField(forcefield))
    return modeller.topology, modeller.positions
