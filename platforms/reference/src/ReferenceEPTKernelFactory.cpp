#include "ReferenceEPTKernelFactory.h"

#include "ReferenceEPTKernels.h"
#include "openmm/OpenMMException.h"
#include "openmm/internal/windowsExport.h"
#include "openmm/reference/ReferencePlatform.h"

using namespace OpenMM;

namespace EPTPlugin {

KernelImpl* ReferenceEPTKernelFactory::createKernelImpl(std::string name, const Platform& platform, ContextImpl&) const {
  if (name == CalcEPTForceKernel::Name()) return new ReferenceCalcEPTForceKernel(name, platform);
  throw OpenMMException("ReferenceEPTKernelFactory: no kernel named '" + name + "'");
}

}  // namespace EPTPlugin

extern "C" OPENMM_EXPORT void registerPlatforms() {}

// One factory for every platform that keeps its data as the Reference platform does: Reference and CPU.
extern "C" OPENMM_EXPORT void registerKernelFactories() {
  for (int i = 0; i < Platform::getNumPlatforms(); ++i) {
    Platform& platform = Platform::getPlatform(i);
    const bool reference_like = dynamic_cast<ReferencePlatform*>(&platform) != nullptr ||
                                platform.getName() == "Reference" || platform.getName() == "CPU";
    if (reference_like) platform.registerKernelFactory(EPTPlugin::CalcEPTForceKernel::Name(), new EPTPlugin::ReferenceEPTKernelFactory());
  }
}
