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


_ONE_TO_THREE = {"A": "ALA", "R": "ARG", "N": "ASN", "D": "ASP", "C": "CYS", "Q": "GLN", "E": "GLU", "G": "GLY",
                 "H": "HIS", "I": "ILE", "L": "LEU", "K": "LYS", "M": "MET", "F": "PHE", "P": "PRO", "S": "SER",
                 "T": "THR", "W": "TRP", "Y": "TYR", "V": "VAL"}


def capped_peptide(sequence: str, seed: int = 11, forcefield: str = "amber14-all.xml"):
    """ACE-<sequence>-NME (one-letter codes, e.g. ``"A"`` for alanine dipeptide, ``"GSA"``): the backbone embedded
    by RDKit (ETKDG) as a capped polyglycine, the side chains' heavy atoms added by PDBFixer from its residue
    templates (L-amino acids), hydrogens by OpenMM's Modeller for ``forcefield`` at pH 7. Returns
    (topology, positions); minimise before dynamics, the side chains are placed without regard to clashes."""
    from pdbfixer import PDBFixer

    residues = [_ONE_TO_THREE.get(c) for c in sequence.upper()]
    if not sequence or None in residues:
        raise ValueError(f"capped_peptide: '{sequence}' is not a sequence of one-letter amino-acid codes "
                         f"({''.join(sorted(_ONE_TO_THREE))})")
    mol = Chem.AddHs(Chem.MolFromSmiles("CC(=O)" + "NCC(=O)" * len(residues) + "NC"))
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    if AllChem.EmbedMolecule(mol, params) != 0:
        raise RuntimeError(f"RDKit could not embed the backbone of ACE-{sequence}-NME")
    AllChem.MMFFOptimizeMolecule(mol)
    names = [("ACE", 1, "CH3"), ("ACE", 1, "C"), ("ACE", 1, "O")]
    for k, residue in enumerate(residues):
        names += [(residue, k + 2, name) for name in ("N", "CA", "C", "O")]
    names += [("NME", len(residues) + 2, "N"), ("NME", len(residues) + 2, "C")]
    conf = mol.GetConformer()
    lines = []
    for k, (residue, number, name) in enumerate(names):
        p = conf.GetAtomPosition(k)
        lines.append(f"ATOM  {k + 1:5d} {name:<4s} {residue:3s} A{number:4d}    "
                     f"{p.x:8.3f}{p.y:8.3f}{p.z:8.3f}  1.00  0.00          {name[0]:>2s}")
    fixer = PDBFixer(pdbfile=io.StringIO("\n".join(lines) + "\nEND\n"))
    fixer.missingResidues = {}
    fixer.findMissingAtoms()
    fixer.missingTerminals = {}
    fixer.addMissingAtoms()
    modeller = app.Modeller(fixer.topology, fixer.positions)
    modeller.addHydrogens(app.ForceField(forcefield), pH=7.0)
    return modeller.topology, modeller.positions
