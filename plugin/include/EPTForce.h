#ifndef OPENMM_EPTFORCE_H_
#define OPENMM_EPTFORCE_H_
// EPTForce: an Equivariant Pretrained Transformer acting on all or some particles of a System.
//
// Units at this boundary are OpenMM's (nm, kJ/mol); the model works in Å inside. The force is either
// conservative (energy head, forces by autograd) or direct (the denoising force head; not the gradient of any
// energy, so it conserves nothing). Its energy can be scaled by a constant and by a global context parameter.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ept/model/modes.h"
#include "openmm/Context.h"
#include "openmm/Force.h"

namespace EPTPlugin {

class EPTForce : public OpenMM::Force {
 public:
  /// ept::OutputMode::Energy (conservative) or ept::OutputMode::Direct; see ept/model/modes.h.
  using OutputMode = ept::OutputMode;
  /// Rows of descriptors: ML atoms, blocks (residues, heavy-atom groups), segments (chains, molecules), or one
  /// row for the whole ML region.
  using DescriptorLevel = ept::DescriptorLevel;

  /// Reads the model file now (the Force keeps its bytes, so serialized Systems are self-contained) and checks
  /// it; a missing or damaged file raises OpenMMException naming it.
  explicit EPTForce(const std::string& modelPath);
  /// From the bytes of a checkpoint (deserialization).
  static EPTForce* fromModelBytes(const std::string& bytes);

  const std::string& getModelPath() const { return modelPath_; }
  const std::string& getModelBytes() const { return modelBytes_; }
  /// CRC-32 of the checkpoint, hex: identifies the exact weights.
  const std::string& getModelChecksum() const { return checksum_; }
  /// The model's cutoff in nm.
  double getCutoff() const { return cutoffNm_; }
  /// What the model's energy means: "untrained", "total" or "delta:FORCEFIELD" (see `ept info`).
  const std::string& getEnergyMeaning() const { return energyMeaning_; }

  /// Particles the model acts on (ML region); empty means every particle of the System. OpenMMException for a
  /// negative or repeated particle index.
  void setAtoms(const std::vector<int>& particles);
  const std::vector<int>& getAtoms() const { return atoms_; }

  /// Chemistry of the ML atoms, one entry per atom in the order of getAtoms() (or of the System). Atomic numbers
  /// are required; names, residues and chains may be empty. Bonds index into the same list.
  void setChemistry(const std::vector<int>& atomicNumbers, const std::vector<std::string>& atomNames,
                    const std::vector<std::string>& residueNames, const std::vector<int>& residueIds,
                    const std::vector<std::string>& chainIds, const std::vector<std::pair<int, int>>& bonds);
  /// Reads atomic numbers, names, residues, chains and bonds from a PDB file whose atoms are the ML atoms.
  void setChemistryFromPdb(const std::string& pdbPath);
  const std::vector<int>& getAtomicNumbers() const { return atomicNumbers_; }
  const std::vector<std::string>& getAtomNames() const { return atomNames_; }
  const std::vector<std::string>& getResidueNames() const { return residueNames_; }
  const std::vector<int>& getResidueIds() const { return residueIds_; }
  const std::vector<std::string>& getChainIds() const { return chainIds_; }
  const std::vector<std::pair<int, int>>& getBonds() const { return bonds_; }

  void setOutputMode(OutputMode mode) { outputMode_ = mode; }
  OutputMode getOutputMode() const { return outputMode_; }

  /// Multiplies the model's energy (and forces); 1 by default; OpenMMException unless finite.
  void setEnergyScale(double scale);
  double getEnergyScale() const { return energyScale_; }

  /// A global context parameter that multiplies the energy (for interpolation); "" for none.
  void setGlobalParameter(const std::string& name, double defaultValue = 1.0);
  const std::string& getGlobalParameterName() const { return globalParameter_; }
  double getGlobalParameterDefault() const { return globalParameterDefault_; }
  /// Request dE/d(parameter) in State::getEnergyParameterDerivatives(); only the global parameter qualifies,
  /// and only in Energy mode.
  void addEnergyParameterDerivative(const std::string& name);
  bool hasEnergyParameterDerivative() const { return energyDerivative_; }

  void setUsesPeriodicBoundaryConditions(bool periodic) { periodic_ = periodic; }
  bool usesPeriodicBoundaryConditions() const override { return periodic_; }

  /// Properties: "precision" (float32 | float64); "threads" (0, the default: leave LibTorch's thread count as it
  /// is; n ≥ 1: this Context's evaluations run on n threads — set for each evaluation and restored after it, so
  /// Contexts with different counts coexist); "neighborSkin" (nm, ≥ 0: neighbour lists are rebuilt only after
  /// some atom moved half of it); "implementation" (fused, the default: the hand-written pair kernels of
  /// ept/model/fused.h for the pair geometry, the embedding and sparse attention; reference: plain LibTorch ops, same
  /// results to rounding, slower). Unknown names or bad values
  /// raise OpenMMException. The environment variable EPT_MALLOC_TUNING=1 makes
  /// a Context keep freed memory in the heap (glibc mallopt, process-wide; see ept/model/allocator.h).
  void setProperty(const std::string& name, const std::string& value);
  const std::map<std::string, std::string>& getProperties() const { return properties_; }

  /// Invariant descriptors of the positions now in `context` (which must contain this force), row-major,
  /// getNumDescriptorRows(level) × getNumDescriptorColumns(). Each row is [h ; |V|]: the model's scalar features
  /// and vector-feature norms; coarser levels sum their members' rows and divide by √(members). Rows follow the
  /// topology (atom order, block order). The last force evaluation is reused when positions have not changed.
  std::vector<double> getDescriptors(OpenMM::Context& context, DescriptorLevel level);
  int getNumDescriptorRows(DescriptorLevel level) const;
  int getNumDescriptorColumns() const { return descriptorColumns_; }
  std::vector<std::string> getDescriptorLabels(DescriptorLevel level) const;

 protected:
  OpenMM::ForceImpl* createImpl() const override;

 private:
  EPTForce() = default;
  void loadModel(const std::string& bytes, const std::string& label);

  std::string modelPath_, modelBytes_, checksum_;
  double cutoffNm_ = 0;
  std::string energyMeaning_;
  int descriptorColumns_ = 0;
  std::vector<int> atoms_;
  std::vector<int> atomicNumbers_;
  std::vector<std::string> atomNames_, residueNames_, chainIds_;
  std::vector<int> residueIds_;
  std::vector<std::pair<int, int>> bonds_;
  OutputMode outputMode_ = OutputMode::Energy;
  double energyScale_ = 1.0;
  std::string globalParameter_;
  double globalParameterDefault_ = 1.0;
  bool energyDerivative_ = false;
  bool periodic_ = false;
  std::map<std::string, std::string> properties_ = {{"precision", "float32"}, {"threads", "0"}, {"neighborSkin", "0.05"},
                                                     {"implementation", "fused"}};
};

}  // namespace EPTPlugin

#endif
