"""ML/MM Systems that run: the link-atom sites of openmm-ml in every force, and positions for them.

openmm-ml (1.8 and later) caps every covalent bond that the ML region cuts with a hydrogen for the ML potential: a
virtual site on the bond, appended after the topology's atoms (particle N, N+1, ... of a topology of N atoms), placed
from the two bonded atoms. It gives each site an entry in NonbondedForce and CustomNonbondedForce (no charge, no
Lennard-Jones, excluded from everything) and in no other force, and OpenMM refuses a Context in which a force that has
one entry per particle has fewer than the System. :func:`complete_link_sites` gives the other such forces the
entries, chosen so that the force's energy and forces stay exactly what they were, or refuses, naming the force,
where no such entry exists. :func:`mixed_positions` turns the topology's positions into positions of every particle
of the mixed System. ``EPTPotential.createMixedSystem`` and ``MLPotential("ept").createMixedSystem`` call
:func:`complete_link_sites` themselves.
"""
import math
from typing import List, Tuple

import numpy as np
import openmm
import openmm.unit as unit

# GBSAOBCForce refuses a scale factor of 0. The site's scaled radius s·(ρ − 0.009 nm) with this s is below 10⁻³⁰ nm:
# added to or subtracted from any interatomic distance it leaves the distance unchanged in float and in double, so
# the site's descreening term for every other atom is exactly 0 (the lower and upper limits of the integral are
# the same number).
_NO_DESCREENING = 1e-30
# The site's own radius in a GBSAOBCForce. Any radius gives a particle without charge no polar energy; 0.2 nm keeps
# the site from lying inside the descreening sphere of a neighbour (where the native force's gradient leaves out a
# term), so the surface-area term that _surface_area_of_sites subtracts is the one the native force computes.
_SITE_RADIUS = 0.2
# Forces with one entry per particle for which no entry leaves the force unchanged (or whose inner forces would need
# the same surgery): a link site cannot be given to them.
_REFUSED = ("AmoebaGeneralizedKirkwoodForce", "AmoebaMultipoleForce", "AmoebaVdwForce", "AmoebaWcaDispersionForce",
            "ATMForce", "ConstantPotentialForce", "CustomManyParticleForce", "GayBerneForce", "HippoNonbondedForce")

Sites = List[Tuple[int, int]]  # (particle index of the site, index of the ML atom it is placed from)


class LinkSiteError(ValueError):
    """A force of the MM System cannot be given openmm-ml's link-atom sites without changing it."""


def complete_link_sites(system: openmm.System, num_atoms: int) -> None:
    """Give every force of ``system`` (a System from openmm-ml's ``createMixedSystem``) an entry for each particle
    after the first ``num_atoms`` (the link-atom virtual sites), without changing its energy or forces.

    For each force that openmm-ml left with ``num_atoms`` entries:

    - ``CustomGBForce`` (amber14's ``implicit/obc2.xml``, ``gbn2.xml``, ...): a new per-particle parameter, 1 for the
      System's own particles and 0 for the sites, multiplies every energy term (by both particles' values in pair
      terms) and every pair computed value (by the other particle's value). A site therefore adds nothing to any
      atom's Born radius (neither the descreening integral nor GBn's neck term) and no energy of its own, whatever
      its parameters; it takes those of the ML atom it is placed from, so that every value computed for it stays
      finite (0 times NaN would not be 0).
    - ``GBSAOBCForce``: charge 0 (no polar energy with anything), a scale factor so small that the site descreens no
      atom (see ``_NO_DESCREENING``). Its surface-area term, (ρ + 0.14)²·(ρ/B)⁶ per particle, charge-free, exists for
      every radius ρ > 0, which the force requires; where the force's surface-area energy is not 0 a ``CustomGBForce``
      in the same force group subtracts the sites' terms (the same Born-radius integral over the same pairs).
    - ``NonbondedForce``, ``CustomNonbondedForce`` (inside a ``CustomCVForce``, where openmm-ml does not reach):
      what openmm-ml gives them at the top level: no charge and no Lennard-Jones; zero parameters and an exclusion
      with every other particle.
    - ``LCPOForce``: radius 0, which the force leaves out entirely.
    - ``RMSDForce``, ``OrientationRestraintForce``: a reference position for each site, and the particle list made
      explicit where it was empty ("every particle"), so that the sites stay out. ``RGForce`` likewise.
    - The collective variables of a ``CustomCVForce``, by the same rules.
    - Amoeba and HIPPO forces, ``ATMForce``, ``ConstantPotentialForce``, ``CustomManyParticleForce`` and
      ``GayBerneForce``: :class:`LinkSiteError` naming the force, and what to do instead.

    Does nothing when ``system`` has no particles beyond ``num_atoms``."""
    sites = _link_sites(system, num_atoms)
    if not sites:
        return
    added = []
    for index, force in enumerate(system.getForces()):
        added += _complete(force, f"force {index} ({type(force).__name__})", sites, num_atoms)
    for force in added:
        system.addForce(force)


def mixed_positions(system: openmm.System, positions) -> unit.Quantity:
    """Positions of every particle of ``system`` (a mixed System from ``createMixedSystem``) from ``positions``, those
    of the topology's atoms (a list of ``Vec3``, an array, with or without units; nm where without): the given ones
    unchanged, then each link-atom site where OpenMM places it (``Context.computeVirtualSites`` in a Context of the
    particles and sites alone). Returns them as ``State.getPositions()`` does, for ``Context.setPositions``.

    ``positions`` of all the System's particles are returned as they are."""
    given = np.asarray(positions.value_in_unit(unit.nanometer) if unit.is_quantity(positions) else positions,
                       dtype=float).reshape(-1, 3)
    total = system.getNumParticles()
    if len(given) > total:
        raise ValueError(f"{len(given)} positions for a System of {total} particles")
    placed = openmm.System()
    for particle in range(total):
        placed.addParticle(0.0)
    for particle in range(len(given), total):
        if not system.isVirtualSite(particle):
            raise ValueError(f"{len(given)} positions for a System of {total} particles, and particle {particle} is "
                             "not a virtual site, so its position does not follow from the others")
        site = system.getVirtualSite(particle)
        placed.setVirtualSite(particle, type(site)(site))
    full = np.zeros((total, 3))
    full[:len(given)] = given
    context = openmm.Context(placed, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(full)
    context.computeVirtualSites()
    return context.getState(getPositions=True).getPositions()


def join_link_sites_to_residues(system: openmm.System, num_atoms: int) -> None:
    """Make each link-atom site a hydrogen of the residue of the ML atom it caps, in every EPTForce of ``system``.

    openmm-ml's topology puts each site in a chain and residue of its own with no bond, which EPT would read as a
    lone hydrogen atom, a molecule of its own; capped, the cut bond is an X–H bond of the ML atom's residue, as a
    fragment computed on its own would have it. Each site takes the residue (name, number, chain) of its ML atom,
    the name "HL" and a bond to it, and moves just after that residue's last atom in the force's atom order, so
    that it belongs to the residue's block."""
    parent = dict(_link_sites(system, num_atoms))
    if not parent:
        return
    from .binding import EPTForce
    forces = [f for f in system.getForces() if EPTForce.isinstance(f)]
    for cv in (f for f in system.getForces() if isinstance(f, openmm.CustomCVForce)):
        forces += [cv.getCollectiveVariable(i) for i in range(cv.getNumCollectiveVariables())
                   if EPTForce.isinstance(cv.getCollectiveVariable(i))]
    for force in (EPTForce.cast(f) for f in forces):
        atoms = list(force.getAtoms())
        if not any(a in parent for a in atoms):
            continue
        columns = [list(force.getAtomicNumbers()), list(force.getAtomNames()), list(force.getResidueNames()),
                   list(force.getResidueIds()), list(force.getChainIds())]
        index = {particle: k for k, particle in enumerate(atoms)}
        residue = [tuple(column[k] for column in columns[2:]) for k in range(len(atoms))]
        order = [k for k, particle in enumerate(atoms) if particle not in parent]
        for k, particle in enumerate(atoms):
            if particle in parent:
                ml = index[parent[particle]]
                for column in columns[1:]:
                    column[k] = column[ml]
                columns[1][k] = "HL"
                residue[k] = residue[ml]
                last = max(p for p, j in enumerate(order) if residue[j] == residue[ml])
                order.insert(last + 1, k)
        new = {old: n for n, old in enumerate(order)}
        bonds = [(new[a], new[b]) for a, b in force.getBonds()]
        bonds += [(new[index[parent[p]]], new[index[p]]) for p in atoms if p in parent]
        force.setChemistry(*[[column[k] for k in order] for column in columns], bonds)
        force.setAtoms([atoms[k] for k in order])


def _link_sites(system: openmm.System, num_atoms: int) -> Sites:
    sites = []
    for particle in range(num_atoms, system.getNumParticles()):
        if not system.isVirtualSite(particle):
            raise ValueError(f"the mixed System has {system.getNumParticles()} particles for {num_atoms} atoms, and "
                             f"particle {particle} is not a virtual site: not a System openmm-ml's createMixedSystem "
                             "made")
        sites.append((particle, system.getVirtualSite(particle).getParticle(0)))
    return sites


def _refusal(name: str, sites: Sites, why: str) -> LinkSiteError:
    first, last = sites[0][0], sites[-1][0]
    which = f"particle {first}" if first == last else f"particles {first}-{last}"
    return LinkSiteError(
        f"{name} has one entry per particle, but the ML region cuts {len(sites)} covalent bond(s), which openmm-ml "
        f"caps with link-atom virtual sites ({which}), and {why}. Choose ML atoms that cut no covalent bond (whole "
        "molecules or chains), or build the MM System without this force")


def _entries(force: openmm.Force):
    """How many per-particle entries ``force`` holds, or None if it holds none."""
    if isinstance(force, (openmm.RMSDForce, openmm.OrientationRestraintForce)):
        return len(force.getReferencePositions())
    if isinstance(force, openmm.AmoebaMultipoleForce):
        return force.getNumMultipoles()
    if isinstance(force, (openmm.NonbondedForce, openmm.CustomNonbondedForce, openmm.CustomGBForce,
                          openmm.GBSAOBCForce, openmm.LCPOForce)) or type(force).__name__ in _REFUSED:
        return force.getNumParticles()
    return None


def _complete(force: openmm.Force, name: str, sites: Sites, num_atoms: int) -> List[openmm.Force]:
    """Complete ``force`` in place; returns forces to add to the System beside it."""
    if isinstance(force, openmm.CustomCVForce):
        for k in range(force.getNumCollectiveVariables()):
            inner = force.getCollectiveVariable(k)
            what = f"{name}'s collective variable '{force.getCollectiveVariableName(k)}' ({type(inner).__name__})"
            if _complete(inner, what, sites, num_atoms):
                raise _refusal(what, sites, "its surface-area term needs a compensating force, which cannot be added "
                               "inside a CustomCVForce (setSurfaceAreaEnergy(0) or a CustomGBForce, e.g. amber14's "
                               "implicit/obc2.xml, can take the sites)")
        return []
    if isinstance(force, openmm.RGForce):
        if len(force.getParticles()) == 0:
            force.setParticles(range(num_atoms))
        return []
    if _entries(force) != num_atoms:
        return []  # no per-particle entries, or openmm-ml completed it
    if type(force).__name__ in _REFUSED:
        raise _refusal(name, sites, f"openmmept knows no {type(force).__name__} entry that leaves the force unchanged")
    if isinstance(force, openmm.NonbondedForce):
        for _ in sites:
            force.addParticle(0.0, 0.0, 0.0)
    elif isinstance(force, openmm.CustomNonbondedForce):
        for site, _ in sites:
            force.addParticle([0.0] * force.getNumPerParticleParameters())
            for other in range(site):
                force.addExclusion(other, site)
    elif isinstance(force, openmm.LCPOForce):
        for _ in sites:
            force.addParticle(0.0, 0.0, 0.0, 0.0, 0.0)
    elif isinstance(force, (openmm.RMSDForce, openmm.OrientationRestraintForce)):
        if len(force.getParticles()) == 0:
            force.setParticles(range(num_atoms))
        force.setReferencePositions(list(force.getReferencePositions()) + [openmm.Vec3(0, 0, 0)] * len(sites))
    elif isinstance(force, openmm.CustomGBForce):
        _mask_sites_in_custom_gb(force, sites, num_atoms)
    elif isinstance(force, openmm.GBSAOBCForce):
        for _ in sites:
            force.addParticle(0.0, _SITE_RADIUS, _NO_DESCREENING)
        if force.getSurfaceAreaEnergy().value_in_unit(unit.kilojoule_per_mole / unit.nanometer ** 2) != 0:
            return [_surface_area_of_sites(force, sites, num_atoms)]
    return []


def _mask_sites_in_custom_gb(force: openmm.CustomGBForce, sites: Sites, num_atoms: int) -> None:
    """Add the sites to ``force`` behind a per-particle flag (1 for the System's particles, 0 for a site) that
    multiplies every energy term and every pair computed value, so that they contribute exactly 0."""
    taken = [force.getPerParticleParameterName(k) for k in range(force.getNumPerParticleParameters())]
    taken += [force.getGlobalParameterName(k) for k in range(force.getNumGlobalParameters())]
    taken += [force.getTabulatedFunctionName(k) for k in range(force.getNumTabulatedFunctions())]
    taken += [force.getComputedValueParameters(k)[0] for k in range(force.getNumComputedValues())]
    taken += [force.getComputedValueParameters(k)[1] for k in range(force.getNumComputedValues())]
    taken += [force.getEnergyTermParameters(k)[0] for k in range(force.getNumEnergyTerms())]
    text = "\n".join(taken)
    mask, k = "isAtom", 0
    while mask in text:  # a name no expression or parameter contains, not even as part of a longer name
        mask, k = f"isAtom{k}x", k + 1

    def scaled(expression: str, factor: str) -> str:
        # Multiply the expression's value (what precedes its first ';', the definitions after it) by factor.
        value, separator, definitions = expression.partition(";")
        return f"{factor}*({value}){separator}{definitions}"

    single = openmm.CustomGBForce.SingleParticle
    for k in range(force.getNumComputedValues()):
        name, expression, kind = force.getComputedValueParameters(k)
        if kind != single:  # a pair sum: the other particle's (particle 2's) share, times its flag
            force.setComputedValueParameters(k, name, scaled(expression, f"{mask}2"), kind)
    for k in range(force.getNumEnergyTerms()):
        expression, kind = force.getEnergyTermParameters(k)
        force.setEnergyTermParameters(k, scaled(expression, mask if kind == single else f"{mask}1*{mask}2"), kind)
    force.addPerParticleParameter(mask)
    for particle in range(num_atoms):
        force.setParticleParameters(particle, [*force.getParticleParameters(particle), 1.0])
    for _, anchor in sites:
        force.addParticle([*force.getParticleParameters(anchor)[:-1], 0.0])


def _surface_area_of_sites(force: openmm.GBSAOBCForce, sites: Sites, num_atoms: int) -> openmm.CustomGBForce:
    """A CustomGBForce whose energy is minus the surface-area term of the sites in ``force`` (a GBSAOBCForce, OBC
    type II, with the sites added): their Born radii from the same integral over the same pairs (every other
    particle within the cutoff, exclusions ignored, each descreening with its scaled radius), then
    −4π·γ·(ρ + 0.14 nm)²·(ρ/B)⁶ with γ the force's surface-area energy."""
    gamma = force.getSurfaceAreaEnergy().value_in_unit(unit.kilojoule_per_mole / unit.nanometer ** 2)
    offset = 0.009  # nm, the dielectric offset of GBSAOBCForce
    compensation = openmm.CustomGBForce()
    compensation.setName("link sites: surface-area terms of the GBSAOBCForce, subtracted")
    compensation.addPerParticleParameter("radius")  # a site's own radius (what its Born radius starts from)
    compensation.addPerParticleParameter("sr")      # scaled offset radius s·(ρ − 0.009 nm): how it descreens others
    compensation.addPerParticleParameter("site")    # 1 for a link site, 0 for the System's own particles
    # The descreening of particle 1 by particle 2 (Hawkins-Cramer-Truhlar, with the term for particle 1 lying inside
    # particle 2's sphere), then the OBC II Born radius.
    compensation.addComputedValue(
        "I", "step(r+sr2-or1)*(0.5*(l-u+0.25*r*(u^2-l^2)+0.5*log(u/l)/r+0.25*sr2^2*(l^2-u^2)/r)"
             f"+step(sr2-r-or1)*(1/or1-l)); l=1/max(or1, abs(r-sr2)); u=1/(r+sr2); or1=radius1-{offset}",
        openmm.CustomGBForce.ParticlePairNoExclusions)
    compensation.addComputedValue(
        "B", f"1/(1/or-tanh(psi-0.8*psi^2+4.85*psi^3)/radius); psi=I*or; or=radius-{offset}",
        openmm.CustomGBForce.SingleParticle)
    compensation.addEnergyTerm(f"-site*{4 * math.pi * gamma!r}*(radius+0.14)^2*(radius/B)^6",
                               openmm.CustomGBForce.SingleParticle)
    for particle in range(num_atoms):
        _, radius, scale = force.getParticleParameters(particle)
        # Only a site's own Born radius is used: the radius of the System's particles only keeps their (unused)
        # values finite.
        compensation.addParticle([_SITE_RADIUS, (radius.value_in_unit(unit.nanometer) - offset) * scale, 0.0])
    for _ in sites:
        compensation.addParticle([_SITE_RADIUS, 0.0, 1.0])
    methods = {openmm.GBSAOBCForce.NoCutoff: openmm.CustomGBForce.NoCutoff,
               openmm.GBSAOBCForce.CutoffNonPeriodic: openmm.CustomGBForce.CutoffNonPeriodic,
               openmm.GBSAOBCForce.CutoffPeriodic: openmm.CustomGBForce.CutoffPeriodic}
    compensation.setNonbondedMethod(methods[force.getNonbondedMethod()])
    compensation.setCutoffDistance(force.getCutoffDistance())
    compensation.setForceGroup(force.getForceGroup())
    return compensation
