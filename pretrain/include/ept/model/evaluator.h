#pragma once
// The one evaluation path: a model, the block structure of one complex, dtype and device, the neighbour graph and
// batch (cached with a skin) and the last output. The OpenMM kernels, the command line and the benchmarks call it;
// training batches many complexes through `collate` below.
#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "ept/model/batch.h"
#include "ept/model/graph.h"
#include "ept/model/model.h"
#include "ept/model/modes.h"

namespace ept {

struct EnergyForces {
  double energy = 0;         // kJ/mol
  std::vector<Vec3> forces;  // kJ/mol/Å: −∂E/∂x (OutputMode::Energy) or the direct head (OutputMode::Direct)
};

struct EvaluatorOptions {
  torch::Dtype dtype = torch::kFloat32;
  torch::Device device = torch::kCPU;
  /// Å. The graph is built for cutoff + skin and reused until some atom moved more than skin / 2 or the box
  /// changed; pairs beyond the cutoff weigh zero under the envelope, so results equal those of a fresh graph (a
  /// model without the envelope gets no skin). A periodic box too small for cutoff + skin shrinks the skin used.
  double skin = 0.0;
  /// The fused pair kernels (ept/model/fused.h) on the CPU; false runs the reference LibTorch ops (benchmarks compare).
  bool fused = true;
};

class Evaluator {
 public:
  /// Takes the model (moved to the options' dtype and device, switched to eval mode, parameters frozen).
  Evaluator(EPTModel model, Complex complex, EvaluatorOptions options = {});

  /// Real-atom positions in Å and the box; InputError for a wrong count or non-finite coordinates.
  void set_positions(const std::vector<Vec3>& positions, const Box& box = Box::none());
  /// Rebuilds the graph for the positions set, stale or not (benchmarks time it).
  void rebuild_graph();

  /// Energy and, if asked, forces at the positions set.
  EnergyForces compute(OutputMode mode, bool with_forces = true);
  /// A forward pass without gradients (reused while positions are unchanged); the direct force head only if asked.
  const ModelOutput& forward(bool force_head = true);
  /// Descriptor rows at `level` ([rows, 2·d], float64, CPU), from the last forward pass at these positions.
  torch::Tensor descriptors(DescriptorLevel level);

  EPTModel& model() { return model_; }
  const Complex& complex() const { return complex_; }
  const Batch& batch() const { return batch_; }
  const EvaluatorOptions& options() const { return options_; }
  int64_t num_pairs() const { return num_pairs_; }
  /// How many graphs were built so far (a skin at work keeps this well below the number of evaluations).
  int64_t graph_builds() const { return graph_builds_; }

 private:
  bool graph_is_stale() const;
  torch::Tensor position_tensor() const;
  void keep(const ModelOutput& out);

  EPTModel model_;
  Complex complex_;
  EvaluatorOptions options_;
  std::vector<Vec3> positions_;
  Box box_;
  bool have_positions_ = false;
  // The graph and batch, and the positions and box they were built for.
  bool have_graph_ = false;
  std::vector<Vec3> graph_positions_;
  Box graph_box_;
  double active_skin_ = 0;
  Batch batch_;
  int64_t num_pairs_ = 0, graph_builds_ = 0;
  // Detached features of the last forward pass, valid while positions are unchanged.
  bool have_output_ = false;
  ModelOutput output_;
};

/// Graphs and one batch of several complexes at their own positions (Å), in order, with the positions as one
/// [Σ atoms, 3] tensor: what the trainer feeds the network.
struct Collated {
  Batch batch;
  torch::Tensor positions;
};
Collated collate(const std::vector<const Complex*>& complexes, const std::vector<std::vector<Vec3>>& positions,
                 const GraphOptions& options, torch::Dtype dtype);

/// Model dtype (float32 or float64), read off its parameters.
torch::Dtype model_dtype(EPTModel& model);

}  // namespace ept
