"""EPTPotential: build Systems with EPT, in the style of openmm-ml's MLPotential."""
import copy
import math
from typing import Iterable, Optional

import openmm
import openmm.unit as unit

from .binding import EPTForce, OutputMode
from .chemistry import set_chemistry_from_topology

LAMBDA = "lambda_interpolate"
_COULOMB = 138.935456  # kJ/mol nm / e²


class EPTPotential:
    """A pretrained EPT model as an OpenMM potential.

    ``model``: checkpoint path (default: :func:`openmmept.default_model_path`). ``properties`` go to
    ``EPTForce.setProperty``: ``precision`` ("float32" | "float64"), ``threads``, ``neighborSkin`` (nm).
    ``output_mode``: "energy" (conservative, forces by autograd) or "direct" (the denoising force head; does not
    conserve energy). ``energy_scale`` multiplies the model's energy.
    """

    def __init__(self, model: Optional[str] = None, output_mode: str = "energy", energy_scale: float = 1.0,
                 **properties):
        from . import default_model_path
        self.model = model if model is not None else default_model_path()
        if output_mode not in ("energy", "direct"):
            raise ValueError(f"output_mode must be 'energy' or 'direct', got {output_mode!r}")
        self.output_mode = output_mode
        self.energy_scale = float(energy_scale)
        self.properties = {k: str(v) for k, v in properties.items()}

    def createForce(self, topology, atoms: Optional[Iterable[int]] = None, periodic: Optional[bool] = None) -> EPTForce:
        """An EPTForce acting on ``atoms`` of ``topology`` (all atoms if None). Periodic when the topology has a
        box, unless ``periodic`` says otherwise."""
        force = EPTForce(self.model)
        set_chemistry_from_topology(force, topology, None if atoms is None else list(atoms))
        force.setOutputMode(OutputMode.Direct if self.output_mode == "direct" else OutputMode.Energy)
        force.setEnergyScale(self.energy_scale)
        force.setUsesPeriodicBoundaryConditions(
            topology.getPeriodicBoxVectors() is not None if periodic is None else bool(periodic))
        for name, value in self.properties.items():
            force.setProperty(name, value)
        return force

    def createSystem(self, topology, removeCMMotion: bool = True, **args) -> openmm.System:
        """A System in which EPT alone acts on every atom of ``topology``."""
        if args:
            raise TypeError(f"createSystem got unexpected arguments: {', '.join(sorted(args))}")
        system = openmm.System()
        box = topology.getPeriodicBoxVectors()
        if box is not None:
            system.setDefaultPeriodicBoxVectors(*box)
        for atom in topology.atoms():
            if atom.element is None:
                raise ValueError(f"atom {atom.index} ({atom.name}) has no element")
            system.addParticle(atom.element.mass)
        system.addForce(self.createForce(topology))
        if removeCMMotion:
            system.addForce(openmm.CMMotionRemover())
        return system

    def createMixedSystem(self, topology, system: openmm.System, atoms: Iterable[int], interpolate: bool = False,
                          **args) -> openmm.System:
        """A copy of the MM ``system`` in which EPT models the interactions among ``atoms``.

        The MM bonds, angles, torsions and nonbonded pairs that lie wholly inside the ML region are removed and
        replaced by EPT. With ``interpolate=True`` the System gets a global parameter ``lambda_interpolate``
        (default 1): the energy is λ·E_EPT + (1 − λ)·E_MM(internal to the region) + the rest, so λ = 0 is the
        pure MM system and λ = 1 the fully mixed one. Nonbonded pairs are re-added as plain Coulomb +
        Lennard-Jones, which is exact for NoCutoff NonbondedForces.
        """
        if args:
            raise TypeError(f"createMixedSystem got unexpected arguments: {', '.join(sorted(args))}")
        atoms = sorted({int(a) for a in atoms})
        if not atoms:
            raise ValueError("createMixedSystem needs at least one ML atom")
        if topology.getNumAtoms() != system.getNumParticles():
            raise ValueError(f"the topology has {topology.getNumAtoms()} atoms but the system "
                             f"{system.getNumParticles()} particles")
        region = set(atoms)
        new_system = copy.deepcopy(system)
        removed = _remove_internal_mm_terms(new_system, region)
        force = self.createForce(topology, atoms, periodic=system.usesPeriodicBoundaryConditions())
        if interpolate:
            force.setGlobalParameter(LAMBDA, 1.0)
            for mm_force in _interpolated_mm_forces(removed):
                new_system.addForce(mm_force)
        new_system.addForce(force)
        return new_system


def _inside(region, *particles) -> bool:
    return all(p in region for p in particles)


def _remove_internal_mm_terms(system: openmm.System, region) -> dict:
    """Zeroes MM terms among ML atoms and returns them, by kind, for interpolation."""
    removed = {"bonds": [], "angles": [], "torsions": [], "rb": [], "pairs": [], "periodic_pairs": False}
    for force in system.getForces():
        if isinstance(force, openmm.HarmonicBondForce):
            for i in range(force.getNumBonds()):
                p1, p2, length, k = force.getBondParameters(i)
                if _inside(region, p1, p2):
                    removed["bonds"].append((p1, p2, length, k))
                    force.setBondParameters(i, p1, p2, length, 0)
        elif isinstance(force, openmm.HarmonicAngleForce):
            for i in range(force.getNumAngles()):
                p1, p2, p3, angle, k = force.getAngleParameters(i)
                if _inside(region, p1, p2, p3):
                    removed["angles"].append((p1, p2, p3, angle, k))
                    force.setAngleParameters(i, p1, p2, p3, angle, 0)
        elif isinstance(force, openmm.PeriodicTorsionForce):
            for i in range(force.getNumTorsions()):
                p1, p2, p3, p4, n, phase, k = force.getTorsionParameters(i)
                if _inside(region, p1, p2, p3, p4):
                    removed["torsions"].append((p1, p2, p3, p4, n, phase, k))
                    force.setTorsionParameters(i, p1, p2, p3, p4, n, phase, 0)
        elif isinstance(force, openmm.RBTorsionForce):
            for i in range(force.getNumTorsions()):
                p1, p2, p3, p4, *c = force.getTorsionParameters(i)
                if _inside(region, p1, p2, p3, p4):
                    removed["rb"].append((p1, p2, p3, p4, *c))
                    force.setTorsionParameters(i, p1, p2, p3, p4, 0, 0, 0, 0, 0, 0)
        elif isinstance(force, openmm.CMAPTorsionForce):
            for i in range(force.getNumTorsions()):
                _, a1, a2, a3, a4, b1, b2, b3, b4 = force.getTorsionParameters(i)
                if _inside(region, a1, a2, a3, a4, b1, b2, b3, b4):
                    raise ValueError("the ML region contains whole CMAP torsions, which cannot be removed from a "
                                     "CMAPTorsionForce; use a force field without CMAP or a smaller region")
        elif isinstance(force, openmm.NonbondedForce):
            removed["pairs"] += _exclude_region_pairs(force, region)
            removed["periodic_pairs"] = force.usesPeriodicBoundaryConditions()
    return removed


def _exclude_region_pairs(force: openmm.NonbondedForce, region) -> list:
    """Turns every ML–ML pair into an exception with no interaction; returns the pairs' original parameters."""
    exceptions = {}
    for i in range(force.getNumExceptions()):
        p1, p2, qq, sigma, epsilon = force.getExceptionParameters(i)
        exceptions[(min(p1, p2), max(p1, p2))] = (qq, sigma, epsilon)
    members = sorted(region)
    pairs = []
    for a, p1 in enumerate(members):
        q1, s1, e1 = force.getParticleParameters(p1)
        for p2 in members[a + 1:]:
            if (p1, p2) in exceptions:
                qq, sigma, epsilon = exceptions[(p1, p2)]
            else:
                q2, s2, e2 = force.getParticleParameters(p2)
                qq, sigma, epsilon = q1 * q2, (s1 + s2) / 2, (e1 * e2).sqrt()
            qq_v = qq.value_in_unit(unit.elementary_charge ** 2)
            eps_v = epsilon.value_in_unit(unit.kilojoule_per_mole)
            if qq_v != 0 or eps_v != 0:
                pairs.append((p1, p2, qq_v, sigma.value_in_unit(unit.nanometer), eps_v))
            force.addException(p1, p2, 0.0, 1.0, 0.0, True)
    return pairs


def _interpolated_mm_forces(removed: dict) -> list:
    """The removed MM terms, each multiplied by (1 − lambda_interpolate)."""
    scale = f"(1-{LAMBDA})*"
    forces = []

    def make(cls, expression, per_term, terms, add):
        if not terms:
            return
        f = cls(scale + "(" + expression + ")")
        f.addGlobalParameter(LAMBDA, 1.0)
        add_parameter = getattr(f, {openmm.CustomBondForce: "addPerBondParameter",
                                    openmm.CustomAngleForce: "addPerAngleParameter",
                                    openmm.CustomTorsionForce: "addPerTorsionParameter"}[cls])
        for name in per_term:
            add_parameter(name)
        for term in terms:
            add(f, term)
        forces.append(f)

    make(openmm.CustomBondForce, "0.5*k*(r-r0)^2", ["r0", "k"], removed["bonds"],
         lambda f, t: f.addBond(t[0], t[1], [t[2], t[3]]))
    make(openmm.CustomAngleForce, "0.5*k*(theta-theta0)^2", ["theta0", "k"], removed["angles"],
         lambda f, t: f.addAngle(t[0], t[1], t[2], [t[3], t[4]]))
    make(openmm.CustomTorsionForce, "k*(1+cos(n*theta-phase))", ["n", "phase", "k"], removed["torsions"],
         lambda f, t: f.addTorsion(t[0], t[1], t[2], t[3], [t[4], t[5], t[6]]))
    make(openmm.CustomTorsionForce,
         "c0+c1*cp+c2*cp^2+c3*cp^3+c4*cp^4+c5*cp^5; cp=cos(theta-pi)".replace("pi", repr(math.pi)),
         ["c0", "c1", "c2", "c3", "c4", "c5"], removed["rb"],
         lambda f, t: f.addTorsion(t[0], t[1], t[2], t[3], list(t[4:])))
    before = len(forces)
    make(openmm.CustomBondForce, f"{_COULOMB}*qq/r+4*eps*((sig/r)^12-(sig/r)^6)", ["qq", "sig", "eps"],
         removed["pairs"], lambda f, t: f.addBond(t[0], t[1], [t[2], t[3], t[4]]))
    if len(forces) > before:
        forces[-1].setUsesPeriodicBoundaryConditions(removed["periodic_pairs"])
    return forces
