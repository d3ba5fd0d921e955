"""MD with a finetuned 3BPA potential in OpenMM, through openmm-ml (`MLPotential("ept", modelPath=...)`): Langevin
dynamics at 300 K and 600 K (are the bonds intact?) and NVE at 0.5 fs (how much does the total energy drift?).

    python md_check.py --work work --model work/runs/n350-pretrained-s1-w1-t4000/model.ept --ps 100
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit
from openmmml import MLPotential

from openmmept.datasets import read_dataset


def topology_of(record):
    topology = app.Topology()
    residue = topology.addResidue("BPA", topology.addChain())
    atoms = [topology.addAtom(f"{app.Element.getByAtomicNumber(int(z)).symbol}{k + 1}",
                              app.Element.getByAtomicNumber(int(z)), residue)
             for k, z in enumerate(record.atomic_numbers)]
    for a, b in record.bonds:
        topology.addBond(atoms[a], atoms[b])
    return topology


def run(model: str, record, temperature, ps: float, nve: bool, seed: int = 1) -> dict:
    topology = topology_of(record)
    system = MLPotential("ept", modelPath=model, precision="float64").createSystem(topology)
    step = 0.0005 * unit.picoseconds
    integrator = (openmm.VerletIntegrator(step) if nve else
                  openmm.LangevinMiddleIntegrator(temperature * unit.kelvin, 1 / unit.picosecond, step))
    context = openmm.Context(system, integrator, openmm.Platform.getPlatformByName("CPU"))
    x0 = record.positions[0] / 10  # Å → nm
    context.setPositions(x0)
    context.setVelocitiesToTemperature(temperature * unit.kelvin, seed)
    bonds = np.array(record.bonds)
    rest = np.linalg.norm(x0[bonds[:, 0]] - x0[bonds[:, 1]], axis=1)
    steps, chunk = int(round(ps / 0.0005)), 200
    worst, energies, start = 1.0, [], time.time()
    for done in range(0, steps, chunk):
        integrator.step(chunk)
        state = context.getState(getPositions=True, getEnergy=True)
        x = state.getPositions(asNumpy=True).value_in_unit(unit.nanometer)
        worst = max(worst, float((np.linalg.norm(x[bonds[:, 0]] - x[bonds[:, 1]], axis=1) / rest).max()))
        energies.append((state.getPotentialEnergy() + state.getKineticEnergy()).value_in_unit(unit.kilojoule_per_mole))
        if not np.isfinite(energies[-1]):
            break
    seconds = time.time() - start
    out = {"temperature_K": temperature, "ensemble": "NVE" if nve else "Langevin", "ps": ps,
           "longest_bond_over_start": worst, "bonds_intact": worst < 1.5, "ms_per_step": 1000 * seconds / steps}
    if nve:
        t = np.arange(len(energies)) * chunk * 0.0005
        out["drift_kJ_per_mol_per_ps"] = float(np.polyfit(t, energies, 1)[0])
        out["drift_per_atom_kJ_per_mol_per_ns"] = 1000 * out["drift_kJ_per_mol_per_ps"] / len(record.atomic_numbers)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path(__file__).resolve().parent / "work")
    parser.add_argument("--model", required=True)
    parser.add_argument("--ps", type=float, default=100.0)
    parser.add_argument("--only", choices=["300", "600", "nve"], help="one of the three runs")
    args = parser.parse_args()
    record = read_dataset(args.work / "data" / "test").records[0]
    runs = {"300": (300, False), "600": (600, False), "nve": (300, True)}
    for name, (temperature, nve) in runs.items():
        if args.only in (None, name):
            print(json.dumps(run(args.model, record, temperature, args.ps, nve)), flush=True)


if __name__ == "__main__":
    main()
