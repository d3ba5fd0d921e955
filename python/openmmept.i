// SWIG interface of the C++ EPTForce, the module openmmept.binding, generated against OpenMM's own SWIG interface
// files (the openmm wheel's include/swig): EPTForce is an openmm.Force that System.addForce, XmlSerializer and
// copy accept like any other. Users import `openmmept`.
%module(package="openmmept") binding

%import(module="openmm") "swig/OpenMMSwigHeaders.i"
%include "swig/typemaps.i"
%include "std_string.i"
%include "std_vector.i"
%include "std_pair.i"
%include "std_map.i"

%{
#include "EPTForce.h"
#include "OpenMM.h"
#include "OpenMMAmoeba.h"
#include "OpenMMDrude.h"
#include "openmm/RPMDIntegrator.h"
#include "openmm/RPMDMonteCarloBarostat.h"
#include "openmm/OpenMMException.h"
%}

%template(IntVector) std::vector<int>;
%template(DoubleVector) std::vector<double>;
%template(StringVector) std::vector<std::string>;
%template(IntPair) std::pair<int, int>;
%template(IntPairVector) std::vector<std::pair<int, int>>;
%template(StringMap) std::map<std::string, std::string>;

// C++ exceptions become openmm.OpenMMException with the C++ message.
%exception {
  try {
    $action
  } catch (std::exception& e) {
    PyObject* module = PyImport_ImportModule("openmm");
    PyObject* type = module ? PyObject_GetAttrString(module, "OpenMMException") : nullptr;
    Py_XDECREF(module);
    PyErr_Clear();
    PyErr_SetString(type ? type : PyExc_Exception, e.what());
    Py_XDECREF(type);
    SWIG_fail;
  }
}

// The model bytes are binary: Python reads them from the file instead (see getModelPath, getModelChecksum).
%ignore EPTPlugin::EPTForce::getModelBytes;
%ignore EPTPlugin::EPTForce::fromModelBytes;
%copyctor EPTPlugin::EPTForce;

// What Python users pass: pathlib paths for files, NumPy integers and arrays for indices.
%pythonbegin %{
import os as _os
%}
%pythonprepend EPTPlugin::EPTForce::EPTForce %{
    args = tuple(_os.fspath(a) if isinstance(a, _os.PathLike) else a for a in args)
%}
%pythonprepend EPTPlugin::EPTForce::setChemistryFromPdb %{
    pdbPath = _os.fspath(pdbPath)
%}
%pythonprepend EPTPlugin::EPTForce::setAtoms %{
    particles = [int(p) for p in particles]
%}
%pythonprepend EPTPlugin::EPTForce::setChemistry %{
    atomicNumbers, residueIds = [int(z) for z in atomicNumbers], [int(i) for i in residueIds]
    atomNames, residueNames, chainIds = [str(n) for n in atomNames], [str(r) for r in residueNames], [str(c) for c in chainIds]
    bonds = [(int(a), int(b)) for a, b in bonds]
%}

%include "ept/modes.h"
%include "EPTForce.h"

%extend EPTPlugin::EPTForce {
  /// The EPTForce behind a Force returned by System.getForce(), or an exception if it is another force.
  static EPTPlugin::EPTForce& cast(OpenMM::Force& force) {
    auto* ept = dynamic_cast<EPTPlugin::EPTForce*>(&force);
    if (!ept) throw OpenMM::OpenMMException("this Force is not an EPTForce");
    return *ept;
  }
  static bool isinstance(OpenMM::Force& force) { return dynamic_cast<EPTPlugin::EPTForce*>(&force) != nullptr; }

  %pythoncode %{
    def __copy__(self):
        return EPTForce(self)

    def __deepcopy__(self, memo):
        return EPTForce(self)

    def __getstate__(self):
        import openmm
        return openmm.XmlSerializer.serialize(self)

    def __setstate__(self, state):
        import openmm
        source = openmm.XmlSerializer.deserialize(state)  # owns the C++ object while it is copied
        self.__init__(source if isinstance(source, EPTForce) else EPTForce.cast(source))
  %}
}

%pythoncode %{
import enum as _enum


class OutputMode(_enum.IntEnum):
    """The forces an EPTForce returns: Energy, -dE/dx of the energy head (conservative, for MD); Direct, the
    denoising force head (not the gradient of any energy; conserves nothing)."""
    Energy = OutputMode_Energy
    Direct = OutputMode_Direct


class DescriptorLevel(_enum.IntEnum):
    """Rows of descriptors: Atom (ML atoms), Block (residues, heavy-atom groups), Segment (chains, molecules),
    Molecule (one row for the whole ML region)."""
    Atom = DescriptorLevel_Atom
    Block = DescriptorLevel_Block
    Segment = DescriptorLevel_Segment
    Molecule = DescriptorLevel_Molecule
%}
