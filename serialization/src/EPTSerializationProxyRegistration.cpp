// Registers EPTForceProxy when the library is loaded, so XmlSerializer knows EPTForce.
#include <typeinfo>

#include "EPTForce.h"
#include "EPTForceProxy.h"
#include "openmm/serialization/SerializationProxy.h"

extern "C" __attribute__((constructor)) void registerEPTSerializationProxies() {
  OpenMM::SerializationProxy::registerProxy(typeid(EPTPlugin::EPTForce), new EPTPlugin::EPTForceProxy());
}
