"""EPTPotential: ``MLPotential("ept", ...)`` under its own name, with one addition, ``createForce``."""
from typing import Iterable, Optional

import openmm
from openmmml.mlpotential import MLPotential

from .binding import EPTForce


class EPTPotential(MLPotential):
    """The EPT model at ``modelPath`` (default: the shipped model) as an openmm-ml potential: the same object
    ``MLPotential("ept", modelPath=..., **args)`` gives, so ``createSystem`` and ``createMixedSystem`` are
    openmm-ml's, with its argument names and order. See :mod:`openmmept.mlpotential` for the arguments."""

    def __init__(self, modelPath: Optional[str] = None, **args):
        super().__init__("ept", modelPath=modelPath, **args)

    def createMixedSystem(self, topology: openmm.app.Topology, system: openmm.System, atoms: Iterable[int], *args,
                          **kwargs):
        """openmm-ml's createMixedSystem, after checks that name an atom index outside the topology, a repeated one
        or an empty region.

        Where the ML region cuts covalent bonds, openmm-ml caps each with a hydrogen for the model: a virtual site
        appended after the topology's atoms, so the System has more particles than the topology has atoms. Every
        force of ``system`` with one entry per particle gets entries for the sites that change nothing (implicit
        solvent included; :func:`openmmept.mlmm.complete_link_sites`), and the System runs in vacuum, implicit
        solvent and PME water alike. Positions for it: ``openmmept.mixed_positions(mixed, positions)``;
        ``returnInfo=True`` (openmm-ml's) returns ``{"system", "topology", "oldToNew"}`` with a topology that holds
        the sites, for ``app.Simulation`` and its reporters."""
        return super().createMixedSystem(topology, system, atoms, *args, **kwargs)

    def createForce(self, topology: openmm.app.Topology, atoms: Optional[Iterable[int]] = None, **args) -> EPTForce:
        """An EPTForce on ``atoms`` of ``topology`` (all if None), for adding to a System by hand."""
        return self._impl.createForce(topology, atoms, **args)
