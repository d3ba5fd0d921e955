#include "ept/training/finetune.h"

#include <torch/autograd.h>
#include <ATen/ops/linalg_pinv.h>

#include <map>
#include <nlohmann/json.hpp>

#include "ept/model/batch.h"
#include "ept/model/evaluator.h"
#include "ept/model/geometry.h"
#include "ept/data/elements.h"
#include "ept/data/vocabulary.h"
#include "ept/error.h"

namespace ept {
namespace {

// One key per topology: the atoms' elements and names and the residues, in order.
std::string molecule_key(const AtomTable& t) {
  std::string key;
  for (size_t i = 0; i < t.size(); ++i)
    key += std::to_string(t.atomic_numbers[i]) + (t.atom_names.empty() ? "" : t.atom_names[i]) +
           (t.residue_names.empty() ? "" : t.residue_names[i]) + ";";
  return key;
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> energy_and_forces(EPTModel& model, const Batch& batch,
                                                          const torch::Tensor& positions, bool create_graph) {
  torch::AutoGradMode enabled(true);
  const auto x = positions.detach().requires_grad_(true);
  const auto energy = model->forward(batch, x, /*force_head=*/false).energy;
  const auto gradient = torch::autograd::grad({energy.sum()}, {x}, {}, /*retain_graph=*/create_graph, create_graph)[0];
  return {create_graph ? energy : energy.detach(), create_graph ? -gradient : -gradient.detach()};
}

torch::Tensor energy_force_loss(const torch::Tensor& energy, const torch::Tensor& forces, const torch::Tensor& target_energy,
                                const torch::Tensor& target_forces, const torch::Tensor& atoms, double scale,
                                const EnergyLossWeights& weights) {
  const auto e = (energy - target_energy) / (atoms * scale);
  const auto f = (forces - target_forces) / scale;
  return weights.energy * e.square().mean() + weights.force * f.square().mean();
}

torch::Tensor fit_energy_offsets(const Corpus& corpus, const std::vector<size_t>& entries) {
  const int64_t types = vocab::kNumAtomTypes;
  const auto labels = corpus.labels.empty() ? nlohmann::json::object() : nlohmann::json::parse(corpus.labels);
  if (labels.contains("e0") && !labels["e0"].empty()) {
    // The data set's isolated-atom energies, exactly, plus one shift per atom: the mean of (E − Σ E0) / N over the
    // training frames (the interaction energy per atom, what the network would otherwise start out missing).
    auto offsets = torch::zeros({types}, torch::kFloat64);
    for (const auto& [symbol, energy] : labels["e0"].items())
      offsets[vocab::atom_type(elements::atomic_number(symbol))] = energy.get<double>();
    double shift = 0;
    for (size_t k : entries) {
      const auto& e = corpus.entries[k];
      double reference = 0;
      for (size_t i = 0; i < e.record->table.size(); ++i)
        if (!labels["e0"].contains(elements::symbol(e.record->table.atomic_numbers[i])))
          throw InputError("the data set's isolated-atom energies have none for " +
                           elements::symbol(e.record->table.atomic_numbers[i]) + ", which '" + e.record->source +
                           "' holds; import with --isolated-atoms that cover every element");
      for (int64_t t : e.complex->atom_type) reference += offsets[t].item<double>();
      shift += (e.record->energies[e.conformer] - reference) / static_cast<double>(e.complex->num_atoms());
    }
    shift /= static_cast<double>(std::max<size_t>(entries.size(), 1));
    for (const auto& [symbol, energy] : labels["e0"].items())
      offsets[vocab::atom_type(elements::atomic_number(symbol))] += shift;
    return offsets;
  }
  auto counts = torch::zeros({static_cast<int64_t>(entries.size()), types}, torch::kFloat64);
  auto energies = torch::zeros({static_cast<int64_t>(entries.size()), 1}, torch::kFloat64);
  auto c = counts.accessor<double, 2>();
  for (size_t k = 0; k < entries.size(); ++k) {
    const auto& e = corpus.entries[entries[k]];
    for (int64_t t : e.complex->atom_type) c[k][t] += 1;
    energies[k][0] = e.record->energies[e.conformer];
  }
  // Minimum-norm least squares through the pseudo-inverse (rank-deficient by construction: most types absent).
  return torch::matmul(torch::linalg_pinv(counts, 1e-10), energies).squeeze(-1);
}

double force_rms(const Corpus& corpus, const std::vector<size_t>& entries) {
  double sum = 0;
  int64_t count = 0;
  for (size_t k : entries) {
    const auto& e = corpus.entries[k];
    for (const auto& f : e.record->forces[e.conformer])
      for (double v : f) sum += v * v, ++count;
  }
  return count ? std::sqrt(sum / count) : 1.0;
}

EnergyErrors energy_errors(EPTModel* model, const Corpus& corpus, const std::vector<size_t>& entries) {
  std::map<std::string, std::vector<double>> errors_by_molecule;
  double force_error = 0, force_square = 0;
  int64_t components = 0;
  const torch::Dtype dtype = model ? model_dtype(*model) : torch::kFloat64;
  for (size_t start = 0; start < entries.size(); start += 16) {
    const size_t stop = std::min(entries.size(), start + 16);
    std::vector<const Complex*> complexes;
    std::vector<std::vector<Vec3>> positions;
    for (size_t k = start; k < stop; ++k) {
      complexes.push_back(corpus.entries[entries[k]].complex);
      const auto& e = corpus.entries[entries[k]];
      positions.push_back(e.record->conformers[e.conformer]);
    }
    torch::Tensor energy, forces;
    if (model) {
      const auto [batch, x] = collate(complexes, positions, (*model)->config().graph_options(), dtype);
      std::tie(energy, forces) = energy_and_forces(*model, batch, x, false);
      energy = energy.to(torch::kFloat64);
      forces = forces.to(torch::kFloat64);
    }
    int64_t atom = 0;
    for (size_t k = start; k < stop; ++k) {
      const auto& e = corpus.entries[entries[k]];
      const double predicted = model ? energy[static_cast<int64_t>(k - start)].item<double>() : 0.0;
      errors_by_molecule[molecule_key(e.record->table)].push_back(predicted - e.record->energies[e.conformer]);
      const auto& target = e.record->forces[e.conformer];
      const auto f = model ? forces.slice(0, atom, atom + static_cast<int64_t>(target.size())).contiguous()
                           : torch::zeros({static_cast<int64_t>(target.size()), 3}, torch::kFloat64);
      const double* p = f.data_ptr<double>();
      for (size_t i = 0; i < target.size(); ++i)
        for (int d = 0; d < 3; ++d) {
          const double error = p[3 * i + d] - target[i][d];
          force_error += std::abs(error), force_square += error * error, ++components;
        }
      atom += static_cast<int64_t>(target.size());
    }
  }
  EnergyErrors out;
  double centred = 0, absolute = 0, square = 0;
  for (const auto& [key, errors] : errors_by_molecule) {
    double mean = 0;
    for (double v : errors) mean += v / errors.size();
    for (double v : errors) centred += std::abs(v - mean), absolute += std::abs(v), square += v * v;
    out.conformations += static_cast<int64_t>(errors.size());
  }
  out.molecules = static_cast<int64_t>(errors_by_molecule.size());
  if (out.conformations) {
    out.energy_mae = absolute / out.conformations;
    out.energy_rmse = std::sqrt(square / out.conformations);
    out.energy_mae_mean_removed = centred / out.conformations;
  }
  if (components) out.force_mae = force_error / components, out.force_rmse = std::sqrt(force_square / components);
  return out;
}

}  // namespace ept
