#ifndef EPT_COMPLEX_H_
#define EPT_COMPLEX_H_
// The block description of an EPTForce's ML atoms, shared by the force and its kernels.
#include "EPTForce.h"
#include "ept/data/molecule.h"

namespace EPTPlugin {

/// Blocks and segments from the force's chemistry; OpenMMException naming the atom for bad chemistry.
ept::Complex buildComplex(const EPTForce& force);

}  // namespace EPTPlugin

#endif
