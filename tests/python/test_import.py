"""`ept import`: extended XYZ as ASE writes it → a labelled data set in kJ/mol and kJ/mol/Å, E0s from isolated
atoms, bonds perceived from geometry; a total-energy model finetuned on it runs in OpenMM as a potential."""
import json
import subprocess
import warnings

import ase
import ase.io
import numpy as np
import openmm
import openmm.app as app
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from openmmml import MLPotential
from rdkit import Chem
from rdkit.Chem import AllChem

from conftest import ept_binary
from openmmept.datasets import read_dataset

EV = 96.48533212331002  # kJ/mol


def ethanol(seed: int = 3):
    mol = Chem.AddHs(Chem.MolFromSmiles("CCO"))
    AllChem.EmbedMolecule(mol, randomSeed=seed)
    return mol


def configurations(count: int, seed: int = 0):
    """ASE Atoms of ethanol, jiggled, each with an energy (eV) and forces (eV/Å) and a config_type."""
    rng = np.random.default_rng(seed)
    mol = ethanol()
    x0 = mol.GetConformer().GetPositions()
    frames = []
    for k in range(count):
        atoms = ase.Atoms([a.GetSymbol() for a in mol.GetAtoms()], positions=x0 + rng.normal(0, 0.02, x0.shape))
        atoms.calc = SinglePointCalculator(atoms, energy=-4209.4 + rng.normal(0, 0.1),
                                           forces=rng.normal(0, 1.0, (len(atoms), 3)))
        atoms.info["config_type"] = "md" if k % 2 else "scan"
        frames.append(atoms)
    return frames


def isolated(energies: dict):
    out = []
    for symbol, e in energies.items():
        atoms = ase.Atoms(symbol, positions=[[0, 0, 0]])
        atoms.calc = SinglePointCalculator(atoms, energy=e)
        out.append(atoms)
    return out


def ept_import(*args, check=True):
    return subprocess.run([ept_binary(), "import"] + [str(a) for a in args], capture_output=True, text=True,
                          check=check)


E0 = {"C": -1029.48, "H": -13.57, "O": -2041.86}


def test_ase_extxyz_imports_to_the_same_numbers_in_kj_per_mol_and_angstrom(tmp_path):
    frames = configurations(6)
    ase.io.write(tmp_path / "data.xyz", frames, format="extxyz")
    ase.io.write(tmp_path / "e0.xyz", isolated(E0), format="extxyz")
    ept_import("--extxyz", tmp_path / "data.xyz", "--isolated-atoms", tmp_path / "e0.xyz", "--out", tmp_path / "d",
               "--level-of-theory", "made up")
    data = read_dataset(tmp_path / "d")
    # config_type splits the frames into two records of the same molecule, in file order within each.
    assert sorted(r.source for r in data.records) == ["data.xyz config_type=md", "data.xyz config_type=scan"]
    lines = [json.loads(line) for line in (tmp_path / "d" / "configurations.jsonl").read_text().splitlines()]
    assert [c["index"] for c in lines] == list(range(6))
    written = ase.io.read(tmp_path / "data.xyz", index=":")  # what ASE reads back: the file's precision
    for c in lines:
        record, k, atoms = data.records[c["record"]], c["conformer"], written[c["index"]]
        assert c["info"]["config_type"] == atoms.info["config_type"]
        assert record.energies[k] == pytest.approx(atoms.get_potential_energy() * EV, rel=1e-12)
        np.testing.assert_allclose(record.forces[k], atoms.get_forces() * EV, rtol=1e-12)
        np.testing.assert_allclose(record.positions[k], atoms.get_positions(), rtol=1e-12)
        assert np.abs(atoms.get_forces() - frames[c["index"]].get_forces()).max() < 1e-7  # the same frame
        assert [int(z) for z in record.atomic_numbers] == list(atoms.get_atomic_numbers())
    labels = data.labels
    assert labels["energy"] == "total" and labels["method"] == "made up"
    assert labels["e0"] == {s: pytest.approx(e * EV, rel=1e-12) for s, e in E0.items()}
    # Ethanol's 8 bonds, perceived from the geometry.
    assert sorted(map(tuple, data.records[0].bonds)) == sorted(
        tuple(sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))) for b in ethanol().GetBonds())


def test_a_total_energy_model_runs_in_openmm_with_the_energies_ept_validate_reports(tmp_path):
    frames = configurations(1, seed=4)
    ase.io.write(tmp_path / "data.xyz", frames, format="extxyz")
    ase.io.write(tmp_path / "e0.xyz", isolated(E0), format="extxyz")
    ept_import("--extxyz", tmp_path / "data.xyz", "--isolated-atoms", tmp_path / "e0.xyz", "--out", tmp_path / "d")
    subprocess.run([ept_binary(), "finetune", "--objective", "energy", "--data", str(tmp_path / "d"), "--out",
                    str(tmp_path / "ft"), "--from-scratch", "--hidden", "16", "--ffn", "32", "--heads", "2",
                    "--layers", "1", "--radial", "8", "--dtype", "float64", "--steps", "5", "--validation-fraction",
                    "0"], check=True, capture_output=True)
    model = tmp_path / "ft" / "model.ept"
    report = json.loads(subprocess.run([ept_binary(), "validate", "--model", str(model), "--corpus",
                                        str(tmp_path / "d"), "--objective", "energy", "--json"],
                                       check=True, capture_output=True, text=True).stdout)
    assert report["energy"] == "total" and report["conformations"] == 1
    assert {"energy_rmse", "energy_mae", "force_rmse", "force_mae"} <= set(report)
    # The same molecule as an OpenMM topology (RDKit's atom order is the file's), EPT as the whole potential.
    mol = ethanol()
    topology = app.Topology()
    residue = topology.addResidue("ETH", topology.addChain())
    atoms = [topology.addAtom(a.GetSymbol(), app.Element.getByAtomicNumber(a.GetAtomicNum()), residue)
             for a in mol.GetAtoms()]
    for b in mol.GetBonds():
        topology.addBond(atoms[b.GetBeginAtomIdx()], atoms[b.GetEndAtomIdx()])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a total-energy model stands in for the force field without a warning
        system = MLPotential("ept", modelPath=str(model), precision="float64").createSystem(topology)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(frames[0].get_positions() / 10)
    energy = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(openmm.unit.kilojoule_per_mole)
    label = frames[0].get_potential_energy() * EV
    assert abs(energy - label) == pytest.approx(report["energy_mae"], rel=1e-6, abs=1e-6)
    assert report["energy_rmse"] == pytest.approx(report["energy_mae"], rel=1e-12)  # one configuration


def test_bad_extxyz_is_named_or_counted(tmp_path):
    frames = configurations(2)
    ase.io.write(tmp_path / "data.xyz", frames, format="extxyz")
    r = ept_import("--extxyz", tmp_path / "data.xyz", "--out", tmp_path / "a", "--energy-key", "REF_energy",
                   check=False)
    assert r.returncode != 0 and "no configuration of" in r.stderr and "'REF_energy'" in r.stderr
    assert "its keys:" in r.stderr and "energy" in r.stderr and "--energy-key" in r.stderr
    text = (tmp_path / "data.xyz").read_text()
    (tmp_path / "short.xyz").write_text(text.replace("forces:R:3", "forces:R:2"))
    r = ept_import("--extxyz", tmp_path / "short.xyz", "--out", tmp_path / "b", check=False)
    assert r.returncode != 0 and "fields, but Properties names" in r.stderr
    lines = text.splitlines(keepends=True)
    lines[2] = " ".join(lines[2].split()[:-1] + ["nan"]) + "\n"
    (tmp_path / "nan.xyz").write_text("".join(lines))
    r = ept_import("--extxyz", tmp_path / "nan.xyz", "--out", tmp_path / "n", check=False)
    assert r.returncode != 0 and "line 3: 'nan' is not a finite number" in r.stderr
    (tmp_path / "xx.xyz").write_text(text.replace("\nO ", "\nXx ", 1))
    r = ept_import("--extxyz", tmp_path / "xx.xyz", "--out", tmp_path / "c", check=False)
    assert r.returncode != 0 and "species 'Xx' is not an element" in r.stderr and "line" in r.stderr
    # One configuration with a hydrogen pulled away (no bonded neighbour): counted, the other imported.
    broken = [a.copy() for a in frames]
    for original, copy in zip(frames, broken):
        copy.calc = SinglePointCalculator(copy, energy=original.get_potential_energy(), forces=original.get_forces())
    broken[1].positions[-1] += [5.0, 0, 0]
    ase.io.write(tmp_path / "broken.xyz", broken, format="extxyz")
    ept_import("--extxyz", tmp_path / "broken.xyz", "--out", tmp_path / "d")
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["failures"] == {"bonds not perceived: a hydrogen with 0 or ≥ 2 bonded neighbours": 1}
    assert manifest["conformers_per_domain"] == {"dft": 1}
    r = ept_import("--extxyz", tmp_path / "data.xyz", "--out", tmp_path / "d", check=False)
    assert r.returncode != 0 and "already holds a data set" in r.stderr
    (tmp_path / "quote.xyz").write_text(text.replace('pbc="F F F"', 'pbc="F F F', 1))
    r = ept_import("--extxyz", tmp_path / "quote.xyz", "--out", tmp_path / "q", check=False)
    assert r.returncode != 0 and "line 2: a value opens with \" and does not close" in r.stderr
    count = int(text.splitlines()[0])
    (tmp_path / "count.xyz").write_text(text.replace(f"{count}\n", f"{count + 2}\n", 1))
    r = ept_import("--extxyz", tmp_path / "count.xyz", "--out", tmp_path / "k", check=False)
    assert r.returncode != 0 and f"of the {count + 2} the configuration at line 1 declares" in r.stderr
    periodic = [a.copy() for a in frames]
    for original, copy in zip(frames, periodic):
        copy.set_cell([10, 10, 10])
        copy.set_pbc(True)
        copy.calc = SinglePointCalculator(copy, energy=original.get_potential_energy(), forces=original.get_forces())
    ase.io.write(tmp_path / "periodic.xyz", periodic[:1] + frames[1:], format="extxyz")
    ept_import("--extxyz", tmp_path / "periodic.xyz", "--out", tmp_path / "p")
    manifest = json.loads((tmp_path / "p" / "manifest.json").read_text())
    assert manifest["failures"] == {"periodic configuration (pbc): not supported, EPT's import takes molecules": 1}
    # Data sets trained together share one E0 reference.
    ase.io.write(tmp_path / "e0a.xyz", isolated(E0), format="extxyz")
    ase.io.write(tmp_path / "e0b.xyz", isolated({**E0, "H": -13.0}), format="extxyz")
    for name, e0 in (("ea", "e0a.xyz"), ("eb", "e0b.xyz")):
        ept_import("--extxyz", tmp_path / "data.xyz", "--isolated-atoms", tmp_path / e0, "--out", tmp_path / name)
    r = subprocess.run([ept_binary(), "finetune", "--objective", "energy", "--data", str(tmp_path / "ea"), "--data",
                        str(tmp_path / "eb"), "--out", str(tmp_path / "ft"), "--from-scratch"], capture_output=True,
                       text=True)
    assert r.returncode != 0 and "different isolated-atom energies (E0s)" in r.stderr
    (tmp_path / "file").write_text("")
    r = ept_import("--extxyz", tmp_path / "data.xyz", "--out", tmp_path / "file", check=False)
    assert r.returncode != 0 and "is a file; give the folder" in r.stderr
    ase.io.write(tmp_path / "co.xyz", isolated({"C": -1029.48, "O": -2041.86}), format="extxyz")
    r = ept_import("--extxyz", tmp_path / "data.xyz", "--isolated-atoms", tmp_path / "co.xyz", "--out",
                   tmp_path / "e", check=False)
    assert r.returncode != 0 and "have none for H" in r.stderr
