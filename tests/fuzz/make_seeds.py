#!/usr/bin/env python3
"""Writes the small seed corpora of the fuzz harnesses into tests/fuzz/seeds/<harness>/ (run from the repository
root after `./run build`, with .venv's python):  python tests/fuzz/make_seeds.py"""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import openmm.app as app
import openmm.unit as unit
from rdkit import Chem
from rdkit.Chem import AllChem

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "tests" / "fuzz" / "seeds"
EPT = str(Path(sys.executable).parent / "ept")


def main() -> None:
    shutil.rmtree(SEEDS, ignore_errors=True)
    for name in ("checkpoint", "shard", "dcd", "structure", "xml_model", "npy", "graph", "extxyz"):
        (SEEDS / name).mkdir(parents=True)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        # The smallest model there is, in both dtypes; the XML payload takes the same bytes after a selector byte.
        for dtype in ("float32", "float64"):
            model = work / f"{dtype}.ept"
            subprocess.run([EPT, "init", "--out", str(model), "--hidden", "4", "--ffn", "4", "--heads", "1",
                            "--layers", "1", "--radial", "2", "--dtype", dtype], check=True, capture_output=True)
            (SEEDS / "checkpoint" / f"{dtype}.ept").write_bytes(model.read_bytes())
            (SEEDS / "xml_model" / f"{dtype}.bin").write_bytes(b"\x01" + model.read_bytes())
        # A one-peptide corpus shard.
        subprocess.run([EPT, "prepare", "--out", str(work / "corpus"), "--smiles", "", "--peptides", "1",
                        "--conformers", "1", "--threads", "1"], check=True, capture_output=True)
        (SEEDS / "shard" / "peptide.cbor").write_bytes((work / "corpus" / "shard-00000.cbor").read_bytes())
        # Water trajectories of two frames, with and without unit cells.
        pdb = app.PDBFile(str(ROOT / "tests" / "fixtures" / "peptide_AGS.pdb"))
        for cell in (True, False):
            path = work / f"cell{int(cell)}.dcd"
            topology = app.Topology()
            if cell:
                topology.setPeriodicBoxVectors(np.eye(3) * 2.0 * unit.nanometer)
            chain = topology.addChain()
            residue = topology.addResidue("HOH", chain)
            for atom, element in (("O", app.element.oxygen), ("H1", app.element.hydrogen), ("H2", app.element.hydrogen)):
                topology.addAtom(atom, element, residue)
            with open(path, "wb") as f:
                writer = app.DCDFile(f, topology, 0.001)
                for k in range(2):
                    writer.writeModel(np.array([[0, 0, 0], [0.096, 0, 0], [-0.024, 0.093, 0.01 * k]]) * unit.nanometer)
            (SEEDS / "dcd" / path.name).write_bytes(path.read_bytes())
        # Frames for `ept label`: float32 and float64, format versions 1 and 2.
        for dtype, version in (("<f4", (1, 0)), ("<f8", (2, 0))):
            path = work / f"frames{version[0]}.npy"
            with open(path, "wb") as f:
                np.lib.format.write_array(f, np.arange(18, dtype=dtype).reshape(2, 3, 3), version=version)
            (SEEDS / "npy" / path.name).write_bytes(path.read_bytes())
        # SIPT's graph files: an edge list as `ept finetune` writes it (selector: 6 nodes) and state labels
        # (selector bit 7: labels; 5 nodes).
        (SEEDS / "graph" / "time-lag.edges").write_bytes(bytes([6]) + b"# time lag: 6 nodes, 3 edges\n0 1\n1 2\n3 4 # c\n")
        (SEEDS / "graph" / "states.labels").write_bytes(bytes([0x80 | 5]) + b"0\n1\n# unlabelled:\n-1\n\n2\n0\n")
        # A PDB (selector byte 0) and an SDF (selector byte 1).
        (SEEDS / "structure" / "peptide.pdb").write_bytes(b"\x00" + (ROOT / "tests" / "fixtures" / "peptide_AGS.pdb").read_bytes())
        mol = Chem.AddHs(Chem.MolFromSmiles("CC(=O)NC"))
        AllChem.EmbedMolecule(mol, randomSeed=3)
        (SEEDS / "structure" / "nma.sdf").write_bytes(b"\x01" + Chem.MolToMolBlock(mol).encode())
        # Extended XYZ: the same molecule as ASE writes it (energy, forces, a quoted value), and one written by hand
        # with an integer column, a bare flag and a quoted key.
        write_extxyz(mol, SEEDS / "extxyz" / "nma.xyz")
        (SEEDS / "extxyz" / "water.xyz").write_text(
            "3\nProperties=species:S:1:pos:R:3:forces:R:3:Z:I:1 energy=-1.5 config_type=\"a b\" free\n"
            "O 0 0 0 1 2 3 8\nH 0.96 0 0 0 0 0 1\nH -0.24 0.93 0 0 0 0 1\n")
    print(f"wrote {sum(1 for _ in SEEDS.rglob('*') if _.is_file())} seeds under {SEEDS}")


def write_extxyz(mol, path: Path) -> None:
    import ase
    import ase.io
    from ase.calculators.singlepoint import SinglePointCalculator
    atoms = ase.Atoms([a.GetSymbol() for a in mol.GetAtoms()], positions=mol.GetConformer().GetPositions())
    atoms.calc = SinglePointCalculator(atoms, energy=-12.5, forces=np.zeros((len(atoms), 3)) + 0.25)
    atoms.info["config_type"] = "seed conformer"
    ase.io.write(path, [atoms, atoms], format="extxyz")


if __name__ == "__main__":
    main()
