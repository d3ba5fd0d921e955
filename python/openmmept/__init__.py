"""openmmept: the Equivariant Pretrained Transformer (EPT) in OpenMM.

    import openmmept
    from openmmml import MLPotential
    system = MLPotential("ept").createMixedSystem(topology, mm_system, ligand_atoms)

or by hand: ``force = openmmept.EPTForce(openmmept.default_model_path())``,
``openmmept.set_chemistry_from_topology(force, topology)``, ``system.addForce(force)``.
Units at the OpenMM boundary are nm and kJ/mol.

Importing openmmept loads the plugin's kernels into OpenMM, and makes ``System.getForce`` (hence
``System.getForces``), ``CustomCVForce.getCollectiveVariable``, ``XmlSerializer.deserialize`` and
``XmlSerializer.clone`` return an :class:`EPTForce` for an EPTForce, not a bare
``openmm.Force``: SWIG only knows the Force classes OpenMM itself was built with.

The same network in plain PyTorch is :mod:`openmmept.torch_model` (``openmmept.EPTModel`` and
``openmmept.create_python_force`` name it too); it is imported, with torch, only when first used.
"""
import functools
import os
from pathlib import Path

import openmm

_PACKAGE = Path(__file__).resolve().parent
_REFERENCE_PLUGIN = _PACKAGE / "plugins" / "libEPTPluginReference.so"
_MODELS = _PACKAGE / "models"
_DEFAULT_MODEL = _MODELS / "ept-small" / "model.ept"


def _load_plugin() -> None:
    # OpenMM registers kernels per platform; load the Reference/CPU kernels unless OPENMM_PLUGIN_DIR already did.
    if not openmm.Platform.getPlatformByName("Reference").supportsKernels(["CalcEPTForce"]):
        openmm.Platform.loadPluginLibrary(str(_REFERENCE_PLUGIN))


_load_plugin()

from .binding import DescriptorLevel, EPTForce, OutputMode  # noqa: E402


def _as_ept(force):
    """The EPTForce view of a Force that is one (keeping its owner alive), else the Force itself."""
    if type(force) is openmm.Force and EPTForce.isinstance(force):
        ept = EPTForce.cast(force)
        ept._owner = force
        return ept
    return force


def _returning_ept_forces(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        return _as_ept(method(*args, **kwargs))
    wrapper._openmmept = True
    return wrapper


for _cls, _name in ((openmm.System, "getForce"), (openmm.CustomCVForce, "getCollectiveVariable"),
                    (openmm.XmlSerializer, "deserialize"), (openmm.XmlSerializer, "clone")):
    _method = _cls.__dict__[_name]
    if not getattr(_method, "_openmmept", False):
        _wrapped = _returning_ept_forces(_method.__func__ if isinstance(_method, staticmethod) else _method)
        setattr(_cls, _name, staticmethod(_wrapped) if isinstance(_method, staticmethod) else _wrapped)

from .chemistry import set_chemistry_from_rdkit, set_chemistry_from_topology  # noqa: E402
from .describe import Describer, DescriptorReporter, describe, descriptors_in_context  # noqa: E402
from .mlmm import mixed_positions  # noqa: E402
from .potential import EPTPotential  # noqa: E402


def default_model_path() -> str:
    """Path of the model shipped with openmm-ept (``EPT_MODEL`` in the environment overrides it)."""
    path = os.environ.get("EPT_MODEL", str(_DEFAULT_MODEL))
    if not os.path.exists(path):
        raise FileNotFoundError(f"the default EPT model '{path}' does not exist; reinstall openmm-ept "
                                "(`pip install --no-build-isolation .` or `./run build`)")
    return path


def model_path(name: str) -> str:
    """Path of a model shipped with openmm-ept, by name: ``"ept-small"`` (pretrained by block denoising; descriptors,
    the direct force head) or ``"ept-delta-amber14"`` (finetuned as a correction to add to amber14 + OBC2, toward
    GFN2-xTB in implicit water) or ``"ept-sipt-ala"`` (ept-small finetuned by SIPT on alanine-dipeptide MD: block
    descriptors aligned with a time-lag graph). Each has a model card (README.md) beside it."""
    shipped = sorted(p.name for p in _MODELS.iterdir() if (p / "model.ept").exists()) if _MODELS.exists() else []
    if name not in shipped:
        raise ValueError(f"no shipped model '{name}'; the shipped models are {', '.join(shipped) or 'none'}")
    return str(_MODELS / name / "model.ept")


_TORCH_MODEL_NAMES = ("EPTModel", "create_python_force")


def __getattr__(name):
    # The PyTorch model on first use only: importing torch takes seconds.
    if name in _TORCH_MODEL_NAMES:
        from . import torch_model
        return getattr(torch_model, name)
    raise AttributeError(f"module 'openmmept' has no attribute '{name}'")


__all__ = ["Describer", "DescriptorLevel", "DescriptorReporter", "EPTForce", "EPTPotential", "OutputMode",
           "default_model_path", "model_path", "describe", "descriptors_in_context", "mixed_positions",
           "set_chemistry_from_rdkit", "set_chemistry_from_topology"]
