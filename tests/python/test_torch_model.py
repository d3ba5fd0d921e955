"""openmmept.torch_model: the PyTorch network equals the library's (energies, forces, descriptors, f32 and f64),
its forces are its energy's gradient, the PythonForce route equals EPTForce, damaged checkpoints are refused."""
import shutil
import subprocess
import sys

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit
import pytest

import openmmept
from conftest import ept_binary
from openmmept.testsystems import alanine_dipeptide
from test_ept_force import water_box

torch = pytest.importorskip("torch")
from openmmept import torch_model as tm  # noqa: E402

LEVELS = ("atom", "block", "segment", "molecule")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
TOLERANCE = {"float32": 1e-5, "float64": 1e-10}


@pytest.fixture(scope="module")
def ala():
    topology, positions = alanine_dipeptide()
    return topology, np.array(positions.value_in_unit(unit.nanometer))


@pytest.fixture(scope="module")
def waters():
    topology, x = water_box(n=40, edge=1.25)  # every box width > 2 × 5 Å cutoff
    return topology, x


def small_model(folder, *options) -> str:
    """A randomly initialised small model by `ept init`."""
    path = folder / "model.ept"
    subprocess.run([ept_binary(), "init", "--out", str(path), "--hidden", "16", "--ffn", "32", "--heads", "2",
                    "--radial", "8", "--seed", "7", *options], check=True, capture_output=True)
    return str(path)


@pytest.fixture(scope="module")
def dense_model_path(tmp_path_factory) -> str:
    return small_model(tmp_path_factory.mktemp("dense"), "--attention", "dense", "--layers", "2")


def relative_error(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.abs(a - b).max() / np.abs(b).max())


def box_nm(topology):
    box = topology.getPeriodicBoxVectors()
    return None if box is None else np.array(box.value_in_unit(unit.nanometer))


def context_with(force, topology, x_nm):
    """A Reference Context of ``force`` alone, at positions ``x_nm``."""
    system = openmm.System()
    for _ in range(topology.getNumAtoms()):
        system.addParticle(1.0)
    if topology.getPeriodicBoxVectors() is not None:
        system.setDefaultPeriodicBoxVectors(*topology.getPeriodicBoxVectors())
    system.addForce(force)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(x_nm)
    return context


def energy_forces(context):
    """kJ/mol and kJ/mol/nm."""
    state = context.getState(getEnergy=True, getForces=True)
    return (state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole),
            state.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer))


def library(model, topology, x_nm, atoms, precision):
    """EPTForce (Reference) on ``atoms``: energy, forces on the ML atoms (kJ/mol/Å), descriptors per level."""
    force = openmmept.EPTPotential(model, precision=precision).createForce(topology, atoms)
    context = context_with(force, topology, x_nm)
    energy, forces = energy_forces(context)
    forces = forces / 10.0
    rows = {level: openmmept.descriptors_in_context(force, context, level) for level in LEVELS}
    ml = list(range(topology.getNumAtoms())) if atoms is None else atoms
    return energy, forces[ml], rows


def pytorch(model_path, topology, x_nm, atoms, dtype):
    model = tm.EPTModel.load(model_path, dtype)
    force = openmmept.EPTPotential(model_path).createForce(topology, atoms)  # the chemistry of the ML atoms
    ml = list(range(topology.getNumAtoms())) if atoms is None else atoms
    x = x_nm[ml] * 10.0
    box = box_nm(topology)
    batch = tm.batch_from_force(force, x, None if box is None else box * 10.0, model.config, dtype)
    positions = torch.as_tensor(x, dtype=dtype)
    energy, forces = tm.energy_and_forces(model, batch, positions)
    output = model(batch, positions)
    rows = {level: model.descriptors(output, batch, level).double().numpy() for level in LEVELS}
    return energy.sum().item(), forces.double().numpy(), rows


CASES = ["alanine-dipeptide", "water-box", "ml-subset", "dense", "offsets"]


@pytest.mark.parametrize("precision", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES)
def test_pytorch_model_equals_the_library(case, precision, ala, waters, dense_model_path):
    model, (topology, x), atoms = openmmept.default_model_path(), ala, None
    if case == "water-box":
        topology, x = waters
    elif case == "ml-subset":
        atoms = [a.index for a in topology.atoms() if a.residue.name == "ALA"]
    elif case == "dense":
        model = dense_model_path
    elif case == "offsets":  # a finetuned model: per-element energy offsets and an energy scale
        model = openmmept.model_path("ept-delta-amber14")
    energy, forces, rows = library(model, topology, x, atoms, precision)
    e, f, d = pytorch(model, topology, x, atoms, DTYPES[precision])
    tolerance = TOLERANCE[precision]
    assert np.abs(forces).max() > 0
    assert e == pytest.approx(energy, rel=tolerance)
    assert relative_error(f, forces) < tolerance
    for level in LEVELS:
        assert d[level].shape == rows[level].shape
        assert relative_error(d[level], rows[level]) < tolerance, level


def test_forces_are_finite_differences_of_the_energy(ala):
    topology, x_nm = ala
    model = tm.EPTModel.load(openmmept.default_model_path(), torch.float64)
    force = openmmept.EPTPotential().createForce(topology)
    x = torch.as_tensor(x_nm * 10.0, dtype=torch.float64)
    batch = tm.batch_from_force(force, x.numpy(), None, model.config, torch.float64)
    _, forces = tm.energy_and_forces(model, batch, x)
    h = 1e-4  # Å
    fd = torch.zeros_like(x)
    with torch.no_grad():
        for i in range(x.shape[0]):
            for k in range(3):
                plus, minus = x.clone(), x.clone()
                plus[i, k] += h
                minus[i, k] -= h
                fd[i, k] = -(model(batch, plus).energy.sum() - model(batch, minus).energy.sum()) / (2 * h)
    assert forces.norm() > 0
    assert (fd - forces).norm() / forces.norm() < 1e-7


def in_context(force, topology, x_nm):
    return energy_forces(context_with(force, topology, x_nm))


@pytest.mark.parametrize("case", ["alanine-dipeptide", "ml-subset", "water-box"])
def test_python_force_equals_eptforce(case, ala, waters):
    topology, x = waters if case == "water-box" else ala
    atoms = [a.index for a in topology.atoms() if a.residue.name == "ALA"] if case == "ml-subset" else None
    model = openmmept.default_model_path()
    python_force = openmmept.create_python_force(model, topology, atoms, dtype=torch.float64)
    assert python_force.usesPeriodicBoundaryConditions() == (case == "water-box")
    e, f = in_context(python_force, topology, x)
    e_lib, f_lib = in_context(openmmept.EPTPotential(model, precision="float64").createForce(topology, atoms),
                              topology, x)
    assert e == pytest.approx(e_lib, rel=1e-10)
    assert relative_error(f, f_lib) < 1e-10
    if atoms is not None:
        assert np.all(f[np.setdiff1d(np.arange(len(f)), atoms)] == 0)


def test_a_damaged_checkpoint_is_refused(tmp_path):
    data = bytearray(open(openmmept.default_model_path(), "rb").read())
    data[len(data) // 2] ^= 0x10  # a payload byte
    damaged = tmp_path / "damaged.ept"
    damaged.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum") as error:
        tm.EPTModel.load(damaged)
    assert str(damaged) in str(error.value)
    (tmp_path / "short.ept").write_bytes(bytes(data[:1000]))
    with pytest.raises(ValueError, match="truncated"):
        tm.EPTModel.load(tmp_path / "short.ept")
    (tmp_path / "foreign.ept").write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="signature"):
        tm.EPTModel.load(tmp_path / "foreign.ept")


def test_parameter_names_are_the_checkpoint_names():
    config, tensors, _ = tm.read_checkpoint(openmmept.model_path("ept-delta-amber14"))
    model = tm.EPTModel(config)
    assert set(model.state_dict()) == set(tensors)
    model.load_state_dict(tensors, strict=True)
    assert tensors["energy_offset"].abs().max() > 0
    # The shipped pretrained model predates the energy buffers: they keep their defaults (no offsets, scale 1).
    config, tensors, _ = tm.read_checkpoint(openmmept.default_model_path())
    assert set(model.state_dict()) - set(tensors) == {"energy_offset", "energy_scale"}
    assert tm.EPTModel.load(openmmept.default_model_path()).energy_scale.item() == 1.0


def test_importing_openmmept_does_not_import_torch():
    code = ("import sys, openmmept; assert 'torch' not in sys.modules; "
            "assert openmmept.EPTModel is __import__('openmmept.torch_model').torch_model.EPTModel")
    subprocess.run([sys.executable, "-c", code], check=True)


def inductor_available() -> bool:
    try:
        import torch._inductor  # noqa: F401
    except Exception:
        return False
    return shutil.which("g++") is not None or shutil.which("c++") is not None


@pytest.mark.skipif(not inductor_available(), reason="torch.compile's inductor backend (or a C++ compiler) is missing")
def test_compiled_python_force_equals_eager(ala, tmp_path):
    topology, x = ala
    model = small_model(tmp_path, "--layers", "1")  # compiling takes ~20 s per layer on two cores (cached after)
    eager = in_context(openmmept.create_python_force(model, topology), topology, x)
    compiled = in_context(openmmept.create_python_force(model, topology, compile=True), topology, x)
    assert compiled[0] == pytest.approx(eager[0], rel=1e-5)
    assert relative_error(compiled[1], eager[1]) < 1e-5
