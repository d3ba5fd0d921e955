"""Give an EPTForce the chemistry of its atoms: from an OpenMM Topology or an RDKit molecule."""
from typing import Optional, Sequence

from .binding import EPTForce


def _apply(force: EPTForce, atomic_numbers, names, residue_names, residue_ids, chain_ids, bonds) -> None:
    force.setChemistry(atomic_numbers, names, residue_names, residue_ids, chain_ids, bonds)


def set_chemistry_from_topology(force: EPTForce, topology, atoms: Optional[Sequence[int]] = None) -> None:
    """Elements, atom names, residues, chains and bonds of ``atoms`` (all atoms if None) of an
    ``openmm.app.Topology``; also makes the force act on exactly those particles."""
    all_atoms = list(topology.atoms())
    indices = list(range(len(all_atoms))) if atoms is None else [int(i) for i in atoms]
    local = {index: k for k, index in enumerate(indices)}
    if len(local) != len(indices):
        raise ValueError("the ML atoms contain duplicates")
    chosen = []
    for i in indices:
        if not 0 <= i < len(all_atoms):
            raise ValueError(f"atom index {i} is outside the topology's {len(all_atoms)} atoms")
        atom = all_atoms[i]
        if atom.element is None:
            raise ValueError(f"atom {i} ({atom.name} in {atom.residue.name}) has no element; "
                             "EPT needs the element of every ML atom (virtual sites cannot be ML atoms)")
        chosen.append(atom)
    bonds = [(local[b[0].index], local[b[1].index]) for b in topology.bonds()
             if b[0].index in local and b[1].index in local]
    _apply(force,
           [a.element.atomic_number for a in chosen],
           [a.name for a in chosen],
           [a.residue.name for a in chosen],
           [int(a.residue.id) if str(a.residue.id).lstrip("-").isdigit() else a.residue.index for a in chosen],
           [a.residue.chain.id for a in chosen],
           bonds)
    force.setAtoms(indices if atoms is not None else [])


def set_chemistry_from_rdkit(force: EPTForce, mol, atoms: Optional[Sequence[int]] = None) -> None:
    """Elements, PDB residue information (when RDKit has it) and bonds of an RDKit molecule whose atoms are the
    ML atoms, in order; ``atoms`` gives their particle indices in the System (default: 0..n-1)."""
    infos = [a.GetPDBResidueInfo() for a in mol.GetAtoms()]
    has_residues = all(info is not None for info in infos) and len(infos) > 0
    _apply(force,
           [a.GetAtomicNum() for a in mol.GetAtoms()],
           [info.GetName().strip() for info in infos] if has_residues else [],
           [info.GetResidueName().strip() for info in infos] if has_residues else [],
           [info.GetResidueNumber() for info in infos] if has_residues else [],
           [info.GetChainId() for info in infos] if has_residues else [],
           [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in mol.GetBonds()])
    if atoms is not None:
        if len(atoms) != mol.GetNumAtoms():
            raise ValueError(f"{len(atoms)} particle indices for a molecule of {mol.GetNumAtoms()} atoms")
        force.setAtoms([int(i) for i in atoms])
