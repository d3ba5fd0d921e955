// The part of OpenMM's Python module that openmmept builds on. Debian ships no OpenMM SWIG files, so the base
// class is declared here and %import-ed: SWIG then shares the type OpenMM::Force with Debian's `openmm` module.
%module openmm

%{
#include "openmm/Force.h"
%}

namespace OpenMM {
class Force {
 public:
  virtual ~Force();
  int getForceGroup() const;
  void setForceGroup(int group);
  const std::string& getName() const;
  void setName(const std::string& name);
  virtual bool usesPeriodicBoundaryConditions() const;
};
}
