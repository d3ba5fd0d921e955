"""One Python process holds torch, OpenMM, openmm-ml, RDKit and openmmept together: one LibTorch, one OpenMM, and
EPTForce behaving as any openmm.Force does (getForce, copy, pickle, XmlSerializer)."""
import copy
import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import openmm
import openmm.unit as unit
import pytest

import openmmept
from conftest import FIXTURES


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("first", ["torch", "openmmept"])
def test_torch_model_and_eptforce_run_in_one_process(first, model_path):
    # Either import order: a second LibTorch in the process would abort it.
    result = run_python(f"""
        import {first}
        import openmm, openmm.app as app, openmmml, openmmept, torch
        net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        pdb = app.PDBFile({str(FIXTURES / "peptide_AGS.pdb")!r})
        system = openmmept.EPTPotential({model_path!r}).createSystem(pdb.topology)
        context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("CPU"))
        context.setPositions(pdb.positions)
        energy = context.getState(getEnergy=True).getPotentialEnergy()._value
        x = torch.tensor(context.getState(getPositions=True).getPositions(asNumpy=True)._value, dtype=torch.float32,
                         requires_grad=True)
        net(x).sum().backward()
        print("ok", energy, float(x.grad.abs().sum()))
    """)
    assert result.returncode == 0, result.stderr
    _, energy, grad = result.stdout.split()
    assert np.isfinite(float(energy)) and float(grad) > 0


def rdkit_libraries(maps: str) -> set:
    """The RDKit shared libraries mapped into a process (from its /proc/PID/maps)."""
    return {line.split()[-1] for line in maps.splitlines() if "rdkit" in line.split()[-1].lower()}


def test_the_plugin_loads_no_rdkit_and_the_rdkit_wheel_is_the_only_one(model_path):
    # The inference core reads PDB files with its own reader: importing openmmept, building an EPTForce from a PDB
    # file and evaluating it maps no RDKit library; importing rdkit afterwards maps only the wheel's.
    result = run_python(f"""
        import json, openmm, openmmept, openmm.app as app
        force = openmmept.EPTForce({model_path!r})
        force.setChemistryFromPdb({str(FIXTURES / "peptide_AGS.pdb")!r})
        system = openmm.System()
        for _ in range(31):
            system.addParticle(12.0)
        system.addForce(force)
        context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("CPU"))
        context.setPositions(app.PDBFile({str(FIXTURES / "peptide_AGS.pdb")!r}).positions)
        energy = context.getState(getEnergy=True).getPotentialEnergy()._value
        before = open("/proc/self/maps").read()
        from rdkit import Chem
        from rdkit.Chem import AllChem
        mol = Chem.AddHs(Chem.MolFromSmiles("CC(=O)NC"))
        AllChem.EmbedMolecule(mol, randomSeed=1)
        other = openmmept.EPTForce({model_path!r})
        openmmept.set_chemistry_from_rdkit(other, mol)
        print(json.dumps(dict(before=before, after=open("/proc/self/maps").read(), energy=energy,
                              atoms=[len(force.getAtomicNumbers()), len(other.getAtomicNumbers())],
                              smiles=Chem.MolToSmiles(Chem.RemoveHs(mol)), rdkit=Chem.__file__)))
    """)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert rdkit_libraries(out["before"]) == set(), "import openmmept mapped an RDKit library"
    wheel = Path(out["rdkit"]).parents[2]  # site-packages, where the wheel's rdkit/ and rdkit.libs/ are
    after = rdkit_libraries(out["after"])
    assert after and all(Path(lib).is_relative_to(wheel) for lib in after), sorted(after)
    assert out["atoms"] == [31, 12] and out["smiles"] == "CNC(C)=O" and np.isfinite(out["energy"])


def test_the_installed_libraries_of_the_python_module_need_no_rdkit():
    # ldd of every shared library `import openmmept` loads (the module, libept, the plugin and its kernels).
    package = Path(openmmept.__file__).parent
    libraries = sorted(package.rglob("*.so"))
    assert any(lib.name.startswith("libept.") for lib in libraries), libraries
    for lib in libraries:
        if lib.name.startswith("libept_chemistry"):
            continue  # the `ept` command's chemistry (SMILES, SDF), never loaded by the module
        needed = subprocess.run(["ldd", str(lib)], capture_output=True, text=True).stdout
        assert "rdkit" not in needed.lower(), f"{lib.name} needs RDKit:\n{needed}"


def test_the_pdb_reader_finds_the_bonds_rdkit_finds():
    # The library's own PDB reader (proximity bonds by covalent radii, CONECT records) against RDKit's on the
    # peptide fixture and on villin in water (OpenMM's test.pdb: a protein, water, no CONECT within residues).
    from rdkit import Chem
    for path in (FIXTURES / "peptide_AGS.pdb", Path(openmm.app.__file__).parent / "data" / "test.pdb"):
        force = openmmept.EPTForce(openmmept.default_model_path())
        force.setChemistryFromPdb(path)
        mol = Chem.MolFromPDBFile(str(path), sanitize=False, removeHs=False)
        theirs = {tuple(sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))) for b in mol.GetBonds()}
        ours = {tuple(sorted(b)) for b in force.getBonds()}
        assert ours == theirs, (path.name, sorted(ours ^ theirs)[:10])
        assert list(force.getAtomicNumbers()) == [a.GetAtomicNum() for a in mol.GetAtoms()]
        assert list(force.getResidueIds()) == [a.GetPDBResidueInfo().GetResidueNumber() for a in mol.GetAtoms()]


def water_force(model_path):
    force = openmmept.EPTForce(model_path)
    force.setChemistry([8, 1, 1], ["O", "H1", "H2"], ["HOH"] * 3, [1] * 3, ["A"] * 3, [(0, 1), (0, 2)])
    force.setAtoms([3, 4, 5])
    force.setEnergyScale(2.5)
    return force


def system_with(force):
    system = openmm.System()
    for _ in range(6):
        system.addParticle(1.0)
    system.addForce(openmm.HarmonicBondForce())
    system.addForce(force)
    return system


def test_system_get_force_returns_an_eptforce(model_path):
    system = system_with(water_force(model_path))
    force = system.getForce(1)
    assert isinstance(force, openmmept.EPTForce)
    assert list(force.getAtoms()) == [3, 4, 5] and force.getEnergyScale() == 2.5
    assert [type(f).__name__ for f in system.getForces()] == ["HarmonicBondForce", "EPTForce"]
    force.setEnergyScale(0.5)  # a view of the System's own force, as for OpenMM's forces
    assert system.getForce(1).getEnergyScale() == 0.5


def test_deepcopy_pickle_and_xml_round_trip_an_eptforce(model_path):
    force = water_force(model_path)
    system = system_with(force)
    for copied in (copy.deepcopy(system), openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(system)),
                   pickle.loads(pickle.dumps(system))):
        other = copied.getForce(1)
        assert isinstance(other, openmmept.EPTForce)
        assert openmm.XmlSerializer.serialize(other) == openmm.XmlSerializer.serialize(force)
    for copied in (copy.copy(force), copy.deepcopy(force), pickle.loads(pickle.dumps(force)),
                   openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(force)),
                   openmm.XmlSerializer.clone(force)):
        assert isinstance(copied, openmmept.EPTForce)
        assert openmm.XmlSerializer.serialize(copied) == openmm.XmlSerializer.serialize(force)
    # A copy is independent of the original.
    duplicate = copy.deepcopy(force)
    duplicate.setEnergyScale(1.0)
    assert force.getEnergyScale() == 2.5


def test_one_enum_each_for_output_mode_and_descriptor_level(model_path):
    force = openmmept.EPTForce(model_path)
    assert force.getOutputMode() == openmmept.OutputMode.Energy
    force.setOutputMode(openmmept.OutputMode.Direct)
    assert openmmept.OutputMode(force.getOutputMode()) is openmmept.OutputMode.Direct
    assert [level.name for level in openmmept.DescriptorLevel] == ["Atom", "Block", "Segment", "Molecule"]
    force.setChemistry([8, 1, 1], [], [], [], [], [(0, 1), (0, 2)])
    assert force.getNumDescriptorRows(openmmept.DescriptorLevel.Atom) == 3
    assert force.getNumDescriptorRows(openmmept.DescriptorLevel.Molecule) == 1
