"""Step 1 of the augmentation loop: MD of capped peptides in amber14 + OBC2 (implicit water).

For every molecule: the topology (PDB, after minimisation), the System (XML, what `ept label --system` subtracts)
and RUNS independent Langevin trajectories (DCD, one frame per --interval ps after --equilibrate ps).
Re-running skips trajectories whose DCD is complete.

    python simulate.py --out work                      # the molecules of the example (README.md)
    python simulate.py --out work --molecules A GS     # ACE-ALA-NME and ACE-GLY-SER-NME only
"""
import argparse
import os
import sys
import time

import openmm as mm
import openmm.app as app
import openmm.unit as unit

from openmmept.testsystems import capped_peptide

# Sequences between the ACE and NME caps. Training molecules get three runs (two to train on, one whose frames
# are the held-out test frames); validation molecules three runs too (early stopping watches them: molecules the
# model does not train on); unseen molecules one run, never trained or validated on.
TRAINING = ["A", "G", "V", "L", "S", "D", "K", "F", "C", "H", "P", "R", "W", "GA"]
VALIDATION = ["N", "T"]
UNSEEN = ["I", "E", "Q", "Y", "M", "AGS"]


def build(sequence, out):
    """Topology and System of ACE-<sequence>-NME in amber14 + OBC2, minimised; written as PDB and XML."""
    pdb_path, xml_path = f"{out}/{sequence}.pdb", f"{out}/{sequence}-system.xml"
    forcefield = app.ForceField("amber14-all.xml", "implicit/obc2.xml")
    if os.path.exists(pdb_path) and os.path.exists(xml_path):
        pdb = app.PDBFile(pdb_path)
        return pdb.topology, pdb.positions, mm.XmlSerializer.deserialize(open(xml_path).read())
    topology, positions = capped_peptide(sequence)
    system = forcefield.createSystem(topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
    context = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    context.setPositions(positions)
    mm.LocalEnergyMinimizer.minimize(context)
    positions = context.getState(getPositions=True).getPositions()
    with open(pdb_path + ".part", "w") as f:
        app.PDBFile.writeFile(topology, positions, f)
    os.replace(pdb_path + ".part", pdb_path)
    with open(xml_path + ".part", "w") as f:
        f.write(mm.XmlSerializer.serialize(system))
    os.replace(xml_path + ".part", xml_path)
    return topology, positions, system


def run(sequence, run_index, topology, positions, system, args):
    path = f"{args.out}/{sequence}-run{run_index}.dcd"
    if os.path.exists(path):
        return path
    integrator = mm.LangevinMiddleIntegrator(args.temperature * unit.kelvin, 1 / unit.picosecond,
                                             args.step * unit.femtoseconds)
    integrator.setRandomNumberSeed(1000 + 17 * run_index + sum(map(ord, sequence)))
    simulation = app.Simulation(topology, system, integrator, mm.Platform.getPlatformByName("CPU"),
                                {"Threads": "1"})
    simulation.context.setPositions(positions)
    simulation.context.setVelocitiesToTemperature(args.temperature * unit.kelvin, 7 + run_index)
    steps_per_ps = round(1000 / args.step)
    simulation.step(round(args.equilibrate * steps_per_ps))
    simulation.reporters.append(app.DCDReporter(path + ".part", round(args.interval * steps_per_ps)))
    simulation.step(round(args.length * steps_per_ps))
    simulation.reporters.clear()
    del simulation  # closes the DCD file
    os.replace(path + ".part", path)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for topologies, systems and trajectories")
    parser.add_argument("--molecules", nargs="*", help="sequences between the caps (default: the example's)")
    parser.add_argument("--runs", type=int, default=3, help="trajectories per training molecule (unseen: 1)")
    parser.add_argument("--length", type=float, default=100.0, help="ps recorded per trajectory")
    parser.add_argument("--equilibrate", type=float, default=10.0, help="ps before recording")
    parser.add_argument("--interval", type=float, default=1.0, help="ps between frames")
    parser.add_argument("--temperature", type=float, default=300.0, help="K")
    parser.add_argument("--step", type=float, default=2.0, help="time step, fs (bonds to H constrained)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    molecules = args.molecules or TRAINING + VALIDATION + UNSEEN
    for sequence in molecules:
        start = time.time()
        topology, positions, system = build(sequence, args.out)
        runs = 1 if sequence in UNSEEN and not args.molecules else args.runs
        for k in range(runs):
            run(sequence, k, topology, positions, system, args)
        print(f"ACE-{sequence}-NME: {topology.getNumAtoms()} atoms, {runs} × {args.length:g} ps "
              f"in {time.time() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
