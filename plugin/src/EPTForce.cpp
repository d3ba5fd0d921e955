#include "EPTForce.h"

#include <cmath>
#include <map>
#include <stdexcept>

#include "ept/data/atomic_file.h"
#include "ept/model/checkpoint.h"
#include "ept/model/descriptors.h"
#include "ept/error.h"
#include "ept/data/structure_io.h"
#include "internal/EPTComplex.h"
#include "internal/EPTForceImpl.h"
#include "openmm/OpenMMException.h"

using OpenMM::OpenMMException;

namespace EPTPlugin {

EPTForce::EPTForce(const std::string& modelPath) : modelPath_(modelPath) {
  std::string bytes;
  try {
    ept::load_checkpoint(modelPath);  // named errors for missing and damaged files
    bytes = ept::read_file(modelPath);
  } catch (const std::exception& e) {
    throw OpenMMException(std::string("EPTForce: ") + e.what());
  }
  loadModel(bytes, modelPath);
}

EPTForce* EPTForce::fromModelBytes(const std::string& bytes) {
  auto* force = new EPTForce();
  try {
    force->loadModel(bytes, "embedded model");
  } catch (...) {
    delete force;
    throw;
  }
  return force;
}

void EPTForce::loadModel(const std::string& bytes, const std::string& label) {
  ept::CheckpointInfo info;
  try {
    ept::load_checkpoint_bytes(bytes, label, &info);
  } catch (const std::exception& e) {
    throw OpenMMException(std::string("EPTForce: ") + e.what());
  }
  modelBytes_ = bytes;
  checksum_ = info.checksum;
  cutoffNm_ = info.config.cutoff / 10.0;
  energyMeaning_ = info.energy;
  descriptorColumns_ = static_cast<int>(2 * info.config.hidden);
}

ept::Complex buildComplex(const EPTForce& force) {
  ept::AtomTable table;
  table.atomic_numbers = force.getAtomicNumbers();
  table.atom_names = force.getAtomNames();
  table.residue_names = force.getResidueNames();
  table.residue_ids.assign(force.getResidueIds().begin(), force.getResidueIds().end());
  table.chain_ids = force.getChainIds();
  for (auto [a, b] : force.getBonds()) table.bonds.push_back({a, b});
  try {
    return ept::build_complex(table);
  } catch (const std::exception& e) {
    throw OpenMMException(std::string("EPTForce: ") + e.what());
  }
}

std::vector<double> EPTForce::getDescriptors(OpenMM::Context& context, DescriptorLevel level) {
  try {
    ept::check_descriptor_level(level);  // before any evaluation
  } catch (const ept::Error& e) {
    throw OpenMMException(std::string("EPTForce: ") + e.what());
  }
  auto& impl = dynamic_cast<EPTForceImpl&>(getImplInContext(context));
  return impl.getDescriptors(getContextImpl(context), level);
}

int EPTForce::getNumDescriptorRows(DescriptorLevel level) const {
  return static_cast<int>(getDescriptorLabels(level).size());
}

std::vector<std::string> EPTForce::getDescriptorLabels(DescriptorLevel level) const {
  try {
    ept::check_descriptor_level(level);
    return ept::descriptor_labels(buildComplex(*this), level);
  } catch (const ept::Error& e) {
    throw OpenMMException(std::string("EPTForce: ") + e.what());
  }
}

void EPTForce::setAtoms(const std::vector<int>& particles) {
  std::map<int, size_t> seen;
  for (size_t k = 0; k < particles.size(); ++k) {
    if (particles[k] < 0)
      throw OpenMMException("EPTForce: atom " + std::to_string(k) + " has the negative particle index " +
                            std::to_string(particles[k]));
    const auto [it, fresh] = seen.emplace(particles[k], k);
    if (!fresh)
      throw OpenMMException("EPTForce: particle " + std::to_string(particles[k]) + " is given twice (atoms " +
                            std::to_string(it->second) + " and " + std::to_string(k) + "); each ML atom once");
  }
  atoms_ = particles;
}

void EPTForce::setEnergyScale(double scale) {
  if (!std::isfinite(scale))
    throw OpenMMException("EPTForce: the energy scale must be a finite number, got " + std::to_string(scale));
  energyScale_ = scale;
}

void EPTForce::setChemistry(const std::vector<int>& atomicNumbers, const std::vector<std::string>& atomNames,
                            const std::vector<std::string>& residueNames, const std::vector<int>& residueIds,
                            const std::vector<std::string>& chainIds, const std::vector<std::pair<int, int>>& bonds) {
  atomicNumbers_ = atomicNumbers;
  atomNames_ = atomNames;
  residueNames_ = residueNames;
  residueIds_ = residueIds;
  chainIds_ = chainIds;
  bonds_ = bonds;
}

void EPTForce::setChemistryFromPdb(const std::string& pdbPath) {
  ept::Structure s;
  try {
    s = ept::read_pdb(pdbPath);
  } catch (const std::exception& e) {
    throw OpenMMException(std::string("EPTForce: ") + e.what());
  }
  const auto& t = s.table;
  std::vector<int> ids(t.residue_ids.begin(), t.residue_ids.end());
  std::vector<std::pair<int, int>> bonds;
  for (auto [a, b] : t.bonds) bonds.emplace_back(static_cast<int>(a), static_cast<int>(b));
  setChemistry(t.atomic_numbers, t.atom_names, t.residue_names, ids, t.chain_ids, bonds);
}

void EPTForce::setGlobalParameter(const std::string& name, double defaultValue) {
  globalParameter_ = name;
  globalParameterDefault_ = defaultValue;
  if (name.empty()) energyDerivative_ = false;
}

void EPTForce::addEnergyParameterDerivative(const std::string& name) {
  if (name.empty() || name != globalParameter_)
    throw OpenMMException("EPTForce: energy derivative requested for '" + name +
                          "', which is not this force's global parameter ('" + globalParameter_ +
                          "'); call setGlobalParameter first");
  energyDerivative_ = true;
}

void EPTForce::setProperty(const std::string& name, const std::string& value) {
  auto bad = [&](const std::string& expected) {
    return OpenMMException("EPTForce: property '" + name + "' must be " + expected + ", got '" + value + "'");
  };
  if (name == "precision") {
    if (value != "float32" && value != "float64") throw bad("float32 or float64");
  } else if (name == "threads") {
    size_t used = 0;
    int n = 0;
    try {
      n = std::stoi(value, &used);
    } catch (const std::exception&) {
      throw bad("0 (leave LibTorch's setting) or a positive integer");
    }
    if (used != value.size() || n < 0) throw bad("0 (leave LibTorch's setting) or a positive integer");
  } else if (name == "neighborSkin") {
    size_t used = 0;
    double skin = -1;
    try {
      skin = std::stod(value, &used);
    } catch (const std::exception&) {
      throw bad("a distance in nm, at least 0");
    }
    if (used != value.size() || !(skin >= 0) || !std::isfinite(skin)) throw bad("a distance in nm, at least 0");
  } else if (name == "implementation") {
    if (value != "fused" && value != "reference") throw bad("fused or reference");
  } else {
    throw OpenMMException("EPTForce: unknown property '" + name +
                          "' (known: precision, threads, neighborSkin, implementation)");
  }
  properties_[name] = value;
}

OpenMM::ForceImpl* EPTForce::createImpl() const { return new EPTForceImpl(*this); }

}  // namespace EPTPlugin
