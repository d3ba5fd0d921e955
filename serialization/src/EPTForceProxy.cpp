#include "EPTForceProxy.h"

#include "EPTForce.h"
#include "ept/data/base64.h"
#include "openmm/OpenMMException.h"
#include "openmm/serialization/SerializationNode.h"

using namespace OpenMM;

namespace EPTPlugin {
namespace {

constexpr int kVersion = 1;

}  // namespace

EPTForceProxy::EPTForceProxy() : SerializationProxy("EPTForce") {}

void EPTForceProxy::serialize(const void* object, SerializationNode& node) const {
  const auto& force = *static_cast<const EPTForce*>(object);
  node.setIntProperty("version", kVersion);
  node.setStringProperty("name", force.getName());
  node.setIntProperty("forceGroup", force.getForceGroup());
  node.setStringProperty("modelChecksum", force.getModelChecksum());
  node.setStringProperty("model", ept::base64_encode(force.getModelBytes()));
  node.setIntProperty("outputMode", static_cast<int>(force.getOutputMode()));
  node.setDoubleProperty("energyScale", force.getEnergyScale());
  node.setStringProperty("globalParameter", force.getGlobalParameterName());
  node.setDoubleProperty("globalParameterDefault", force.getGlobalParameterDefault());
  node.setBoolProperty("energyDerivative", force.hasEnergyParameterDerivative());
  node.setBoolProperty("periodic", force.usesPeriodicBoundaryConditions());
  auto& properties = node.createChildNode("Properties");
  for (const auto& [key, value] : force.getProperties())
    properties.createChildNode("Property").setStringProperty("name", key).setStringProperty("value", value);
  auto& atoms = node.createChildNode("Atoms");
  for (int p : force.getAtoms()) atoms.createChildNode("Particle").setIntProperty("index", p);
  auto& chemistry = node.createChildNode("Chemistry");
  const size_t n = force.getAtomicNumbers().size();
  auto text = [](const std::vector<std::string>& v, size_t k) { return v.empty() ? std::string() : v[k]; };
  for (size_t k = 0; k < n; ++k) {
    auto& atom = chemistry.createChildNode("Atom");
    atom.setIntProperty("z", force.getAtomicNumbers()[k]);
    if (!force.getAtomNames().empty()) atom.setStringProperty("name", text(force.getAtomNames(), k));
    if (!force.getResidueNames().empty()) atom.setStringProperty("residue", text(force.getResidueNames(), k));
    if (!force.getResidueIds().empty()) atom.setIntProperty("residueId", force.getResidueIds()[k]);
    if (!force.getChainIds().empty()) atom.setStringProperty("chain", text(force.getChainIds(), k));
  }
  auto& bonds = node.createChildNode("Bonds");
  for (auto [a, b] : force.getBonds()) bonds.createChildNode("Bond").setIntProperty("a", a).setIntProperty("b", b);
}

void* EPTForceProxy::deserialize(const SerializationNode& node) const {
  const int version = node.getIntProperty("version");
  if (version != kVersion)
    throw OpenMMException("EPTForce XML: unsupported version " + std::to_string(version) + " (this build reads " +
                          std::to_string(kVersion) + ")");
  std::string bytes;
  try {
    bytes = ept::base64_decode(node.getStringProperty("model"));
  } catch (const std::exception& e) {
    throw OpenMMException(std::string("EPTForce XML: the embedded model is not valid base64: ") + e.what());
  }
  EPTForce* force = EPTForce::fromModelBytes(bytes);
  try {
    if (force->getModelChecksum() != node.getStringProperty("modelChecksum"))
      throw OpenMMException("EPTForce XML: the embedded model's checksum " + force->getModelChecksum() +
                            " differs from the recorded " + node.getStringProperty("modelChecksum"));
    force->setName(node.getStringProperty("name", "EPTForce"));
    force->setForceGroup(node.getIntProperty("forceGroup", 0));
    force->setOutputMode(static_cast<ept::OutputMode>(node.getIntProperty("outputMode")));
    force->setEnergyScale(node.getDoubleProperty("energyScale"));
    force->setGlobalParameter(node.getStringProperty("globalParameter"), node.getDoubleProperty("globalParameterDefault"));
    if (node.getBoolProperty("energyDerivative")) force->addEnergyParameterDerivative(force->getGlobalParameterName());
    force->setUsesPeriodicBoundaryConditions(node.getBoolProperty("periodic"));
    for (const auto& p : node.getChildNode("Properties").getChildren())
      force->setProperty(p.getStringProperty("name"), p.getStringProperty("value"));
    std::vector<int> atoms;
    for (const auto& p : node.getChildNode("Atoms").getChildren()) atoms.push_back(p.getIntProperty("index"));
    force->setAtoms(atoms);
    std::vector<int> z, ids;
    std::vector<std::string> names, residues, chains;
    for (const auto& a : node.getChildNode("Chemistry").getChildren()) {
      z.push_back(a.getIntProperty("z"));
      if (a.hasProperty("name")) names.push_back(a.getStringProperty("name"));
      if (a.hasProperty("residue")) residues.push_back(a.getStringProperty("residue"));
      if (a.hasProperty("residueId")) ids.push_back(a.getIntProperty("residueId"));
      if (a.hasProperty("chain")) chains.push_back(a.getStringProperty("chain"));
    }
    std::vector<std::pair<int, int>> bonds;
    for (const auto& b : node.getChildNode("Bonds").getChildren()) bonds.emplace_back(b.getIntProperty("a"), b.getIntProperty("b"));
    force->setChemistry(z, names, residues, ids, chains, bonds);
  } catch (...) {
    delete force;
    throw;
  }
  return force;
}

}  // namespace EPTPlugin
