#pragma once
// Finetuning on energies and forces (Δ-learning for force-field augmentation, or total energies): the loss with
// forces by double backward through the network, the per-element energy offsets fitted before training, and the
// errors a model card reports.
#include <torch/types.h>

#include <vector>

#include "ept/data/dataset.h"
#include "ept/model/model.h"

namespace ept {

/// Energies [complexes] (kJ/mol) and forces −∂E/∂x [R, 3] (kJ/mol/Å) of a batch at `positions` [R, 3] (Å);
/// with `create_graph` the forces stay differentiable (a loss on them trains the parameters).
std::pair<torch::Tensor, torch::Tensor> energy_and_forces(EPTModel& model, const Batch& batch,
                                                          const torch::Tensor& positions, bool create_graph);

struct EnergyLossWeights {
  double energy = 1.0, force = 1.0;
};

/// w_E · mean_c ((Ê_c − E_c) / (n_c s))² + w_F · mean_{i,xyz} ((F̂_i − F_i) / s)²: per-atom-normalised energy and
/// force errors, both in units of the model's energy scale s (kJ/mol, per Å for forces) so that the two terms
/// are O(1). `atoms` [complexes] holds n_c.
torch::Tensor energy_force_loss(const torch::Tensor& energy, const torch::Tensor& forces, const torch::Tensor& target_energy,
                                const torch::Tensor& target_forces, const torch::Tensor& atoms, double scale,
                                const EnergyLossWeights& weights);

/// Per-atom-type energy offsets e [vocab::kNumAtomTypes] (kJ/mol). Where the data set's labels give isolated-atom
/// energies ("e0", `ept import`): those, each plus the mean over `entries` of (E − Σ E0) / N (E = Σ E0 + network,
/// the network starting from the mean interaction energy per atom). Otherwise the offsets minimising
/// Σ_frames (E − Σ_i e_{Z_i})² over the labelled `entries` of `corpus` (minimum-norm least squares: types that
/// never occur get 0, and types whose counts are collinear share the offset).
torch::Tensor fit_energy_offsets(const Corpus& corpus, const std::vector<size_t>& entries);

/// Root mean square of the force labels of `entries` (kJ/mol/Å): the energy head's scale.
double force_rms(const Corpus& corpus, const std::vector<size_t>& entries);

struct EnergyErrors {
  double energy_mae = 0, energy_rmse = 0;  // kJ/mol per conformation, as predicted (total or Δ energies)
  double energy_mae_mean_removed = 0;      // the same after removing each molecule's mean error (Δ labels)
  double force_mae = 0, force_rmse = 0;    // kJ/mol/Å per component
  int64_t conformations = 0, molecules = 0;
};

/// Errors of `model` against the labels of `entries`; without a model, those of predicting zero (for Δ labels:
/// the force field alone). A molecule is a topology (records of trajectories of the same molecule share it).
EnergyErrors energy_errors(EPTModel* model, const Corpus& corpus, const std::vector<size_t>& entries);

}  // namespace ept
