#ifndef REFERENCE_EPT_KERNEL_FACTORY_H_
#define REFERENCE_EPT_KERNEL_FACTORY_H_
#include "openmm/KernelFactory.h"

namespace EPTPlugin {

class ReferenceEPTKernelFactory : public OpenMM::KernelFactory {
 public:
  OpenMM::KernelImpl* createKernelImpl(std::string name, const OpenMM::Platform& platform,
                                       OpenMM::ContextImpl& context) const override;
};

}  // namespace EPTPlugin

#endif
