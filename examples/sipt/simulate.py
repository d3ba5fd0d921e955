#!/usr/bin/env python3
"""Step 1 of the SIPT example: independent MD runs of a capped peptide in amber14 + OBC2 (implicit water).

    python examples/sipt/simulate.py --work sipt-work --molecule ala --runs 6 --length 2000   # alanine dipeptide
    python examples/sipt/simulate.py --work sipt-work --molecule AAA --runs 4 --length 1000   # ACE-AAA-NME

Writes MOLECULE.pdb (minimised) and MOLECULE-runK.dcd (one frame per --interval ps after 10 ps of equilibration;
Langevin 300 K, 4 fs steps with 4 amu hydrogens, bonds to hydrogen constrained), --processes runs at a time.
"ala" is ACE-ALA-NME built from its chiral SMILES (openmmept.testsystems.alanine_dipeptide); other names are
sequences between ACE and NME caps (testsystems.capped_peptide). Every residue must be an L-amino acid: a
topology whose Cα is not S (R for cysteine) is refused, since its Ramachandran basins would be mirrored. A run whose
DCD exists is not simulated again.
"""
import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def check_l_amino_acids(pdb_path: str) -> None:
    from rdkit import Chem
    mol = Chem.MolFromPDBFile(pdb_path, removeHs=False)
    Chem.AssignStereochemistryFrom3D(mol)
    for atom in mol.GetAtoms():
        info = atom.GetPDBResidueInfo()
        if info.GetName().strip() != "CA" or not atom.HasProp("_CIPCode"):
            continue
        expected = "R" if info.GetResidueName() == "CYS" else "S"
        if atom.GetProp("_CIPCode") != expected:
            raise SystemExit(f"{pdb_path}: residue {info.GetResidueName()} {info.GetResidueNumber()} is a D-amino acid "
                             f"(Cα is {atom.GetProp('_CIPCode')}); build it again with another seed")


def build(work: str, molecule: str) -> str:
    import openmm as mm
    import openmm.app as app
    from openmmept.testsystems import alanine_dipeptide, capped_peptide

    path = os.path.join(work, f"{molecule}.pdb")
    if not os.path.exists(path):
        topology, positions = alanine_dipeptide() if molecule == "ala" else capped_peptide(molecule)
        system = app.ForceField("amber14-all.xml", "implicit/obc2.xml").createSystem(
            topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
        context = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
        context.setPositions(positions)
        mm.LocalEnergyMinimizer.minimize(context)
        with open(path + ".part", "w") as f:
            app.PDBFile.writeFile(topology, context.getState(getPositions=True).getPositions(), f)
        os.replace(path + ".part", path)
    check_l_amino_acids(path)
    return path


def run(work: str, molecule: str, index: int, length: float, interval: float) -> str:
    import openmm as mm
    import openmm.app as app
    import openmm.unit as unit

    path = os.path.join(work, f"{molecule}-run{index}.dcd")
    if os.path.exists(path):
        return f"{path}: already there"
    pdb = app.PDBFile(os.path.join(work, f"{molecule}.pdb"))
    system = app.ForceField("amber14-all.xml", "implicit/obc2.xml").createSystem(
        pdb.topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds, hydrogenMass=4 * unit.amu)
    integrator = mm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 4 * unit.femtoseconds)
    integrator.setRandomNumberSeed(1000 + index)
    simulation = app.Simulation(pdb.topology, system, integrator, mm.Platform.getPlatformByName("CPU"), {"Threads": "1"})
    simulation.context.setPositions(pdb.positions)
    simulation.context.setVelocitiesToTemperature(300 * unit.kelvin, 7 + index)
    simulation.step(2500)  # 10 ps
    every = round(interval * 250)
    start = time.time()
    simulation.reporters.append(app.DCDReporter(path + ".part", every))
    simulation.step(round(length * 250))
    simulation.reporters.clear()
    del simulation  # closes the DCD file
    os.replace(path + ".part", path)
    return f"{path}: {length:g} ps in {time.time() - start:.0f} s"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", required=True, help="output folder")
    parser.add_argument("--molecule", default="ala", help="ala, or a sequence between ACE and NME caps (e.g. AAA)")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--length", type=float, default=2000.0, help="ps recorded per run")
    parser.add_argument("--interval", type=float, default=1.0, help="ps between frames")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    os.makedirs(args.work, exist_ok=True)
    build(args.work, args.molecule)
    with ProcessPoolExecutor(args.processes) as pool:
        jobs = [pool.submit(run, args.work, args.molecule, k, args.length, args.interval) for k in range(args.runs)]
        for job in jobs:
            print(job.result(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
