// SWIG interface of the C++ EPTForce, the module openmmept.binding. Users import `openmmept`.
%module(package="openmmept") binding

%include "std_string.i"
%include "std_vector.i"
%include "std_pair.i"
%include "std_map.i"

%import(module="openmm") "openmm_base.i"

%{
#include "EPTForce.h"
#include "openmm/OpenMMException.h"
%}

%template(IntVector) std::vector<int>;
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

%include "EPTForce.h"

%extend EPTPlugin::EPTForce {
  /// The EPTForce behind a Force returned by System.getForce(), or an exception if it is another force.
  static EPTPlugin::EPTForce& cast(OpenMM::Force& force) {
    auto* ept = dynamic_cast<EPTPlugin::EPTForce*>(&force);
    if (!ept) throw OpenMM::OpenMMException("this Force is not an EPTForce");
    return *ept;
  }
  static bool isinstance(OpenMM::Force& force) { return dynamic_cast<EPTPlugin::EPTForce*>(&force) != nullptr; }
}
