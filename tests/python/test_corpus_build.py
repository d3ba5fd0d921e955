"""pretrain/corpus/build_corpus.py end to end on a small stand-in for shared/datasets: extraction, hydrogens for a
heavy-atom protein complex (PDBFixer), every source through `ept prepare`, the card, and a second run that redoes
nothing."""
import io
import json
import lzma
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import openmm.app as app
import openmm.unit as unit
from rdkit import Chem
from rdkit.Chem import AllChem

from conftest import FIXTURES, ept_binary

SCRIPT = Path(__file__).resolve().parents[2] / "pretrain" / "corpus" / "build_corpus.py"


def add(tar: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def datasets(root: Path) -> Path:
    (root / "smiles").mkdir(parents=True)
    (root / "smiles" / "a.csv.xz").write_bytes(lzma.compress(b"id,smiles\n1,CCO\n2,OCC\n3,c1ccccc1O\n"))
    (root / "smiles" / "SOURCES.txt").write_text("a.csv|example/repo|a.csv|0123abcd\n")
    atoms = [l for l in (FIXTURES / "peptide_AGS.pdb").read_text().splitlines() if l.startswith("ATOM")]
    heavy = [l for l in atoms if l[76:78].strip() != "H"]
    (root / "structures").mkdir()
    with tarfile.open(root / "structures" / "bm5_protein_complexes.tar.xz", "w:xz") as tar:
        add(tar, "HADDOCK-ready/X/X_r_b-matched.pdb", "\n".join(l for l in heavy if l[17:20] != "SER") + "\nEND\n")
        add(tar, "HADDOCK-ready/X/X_l_b-matched.pdb", "\n".join(l for l in heavy if l[17:20] == "SER") + "\nEND\n")
    pdb = app.PDBFile(str(FIXTURES / "peptide_AGS.pdb"))
    centre = np.array(pdb.positions.value_in_unit(unit.angstrom)).mean(axis=0)
    ligand = Chem.AddHs(Chem.MolFromSmiles("CO"))
    AllChem.EmbedMolecule(ligand, randomSeed=1)
    conformer = ligand.GetConformer()
    for i in range(ligand.GetNumAtoms()):
        p = conformer.GetAtomPosition(i)
        conformer.SetAtomPosition(i, (p.x + centre[0] + 4, p.y + centre[1], p.z + centre[2]))
    with tarfile.open(root / "structures" / "fep_benchmark_protein_ligand.tar.xz", "w:xz") as tar:
        add(tar, "inputs/t_protein.pdb", (FIXTURES / "peptide_AGS.pdb").read_text())
        add(tar, "inputs/t_ligands.sdf", Chem.MolToMolBlock(ligand) + "$$$$\n")
    return root


def test_the_corpus_builds_from_the_copies_and_resumes(tmp_path):
    root = datasets(tmp_path / "datasets")
    env = dict(os.environ, PATH=f"{Path(ept_binary()).parent}:{os.environ['PATH']}")
    command = [sys.executable, str(SCRIPT), "--datasets", str(root), "--work", str(tmp_path / "work"), "--out",
               str(tmp_path / "corpus"), "--conformers", "1", "--threads", "1", "--shard-size", "2", "--crop", "1",
               "--md-peptides", "1", "--md-frames", "3", "--md-equilibration", "0.1"]
    first = subprocess.run(command, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    manifest = json.loads((tmp_path / "corpus" / "manifest.json").read_text())
    assert manifest["records_per_domain"] == {"small-molecule": 2, "protein-fragment": 3, "protein-complex": 1,
                                              "protein-ligand": 1, "md-frame": 1}
    assert manifest["conformers_per_domain"]["md-frame"] == 3  # one frame a picosecond, thermal structures
    # The heavy-atom partners got hydrogens (PDBFixer, pH 7) before they were cropped.
    receptor = tmp_path / "work" / "fixed" / "bm5" / "HADDOCK-ready" / "X" / "X_r_b-matched.pdb"
    assert sum(a.element.symbol == "H" for a in app.PDBFile(str(receptor)).topology.atoms()) > 5
    card = (tmp_path / "corpus" / "CARD.md").read_text()
    assert "| protein-ligand | 1 | 1 |" in card and "a.csv|example/repo|a.csv|0123abcd" in card
    assert "duplicate molecule" in card and "| element | atoms |" in card
    second = subprocess.run(command, env=env, capture_output=True, text=True)
    assert second.returncode == 0 and "is complete; nothing to prepare" in second.stderr
