#pragma once
// Training on one or more processes: block-level denoising pretraining (`ept pretrain`), finetuning on energies
// and forces (`ept finetune --objective energy`), or structure-inducing finetuning over a graph of conformations
// (`ept finetune --objective sipt`). AdamW, linear warm-up then cosine decay, gradient clipping,
// batches packed to an atom budget, a held-out validation set, JSON-lines metrics and atomic checkpoints.
//
// Every random choice is a function of (seed, epoch) for the data order and (seed, step) for the noise, so a
// run resumed from a checkpoint takes exactly the steps an uninterrupted run takes (bitwise in float64 on one
// thread).
#include <torch/optim/adamw.h>
#include <torch/types.h>

#include <cmath>
#include <functional>
#include <optional>
#include <string>

#include "ept/model/config.h"
#include "ept/data/dataset.h"
#include "ept/training/distributed.h"
#include "ept/training/finetune.h"
#include "ept/model/model.h"
#include "ept/training/noise.h"
#include "ept/training/sipt.h"

namespace ept {

/// What a run trains: the direct force head by denoising, the energy head on labelled energies and forces, or
/// denoising together with a structure loss on the pooled embeddings (SIPT: (1 − λ)·L_denoise + λ·L_SI).
enum class Task { Denoising, Energy, Sipt };

struct TrainConfig {
  Task task = Task::Denoising;
  ModelConfig model;
  NoiseConfig noise;
  int64_t steps = 1000;
  double learning_rate = 1e-3;
  int64_t warmup = 100;
  double weight_decay = 0.01;
  double clip_norm = 1.0;
  int64_t atoms_per_batch = 2000;
  double validation_fraction = 0.05;
  int64_t validate_every = 100;
  int64_t checkpoint_every = 100;
  uint64_t seed = 1;
  torch::Dtype dtype = torch::kFloat32;
  /// Energy task: the loss's weights, and early stopping after `patience` validations without improvement (0:
  /// never); model.ept is then the weights of the best validation.
  EnergyLossWeights energy_weights;
  int64_t patience = 0;
  /// SIPT: λ, the structure loss and the sampler's settings (batches are sipt.anchors triplets, not an atom budget).
  SiptConfig sipt;
  /// Where the starting weights come from (a checkpoint's path and checksum, or "scratch"), for the metadata.
  std::string initial_model = "scratch";
  /// Fingerprint of a validation corpus of its own (empty: held out from the training data).
  std::string validation_data;
  /// Replace a run already in the output folder (its checkpoint, model and metrics) instead of refusing.
  bool overwrite = false;
  /// Evaluation only (`ept validate`): validation_fraction may be 1, every molecule held out, none trained on.
  bool evaluation_only = false;

  /// InputError naming the option (--lr, --clip, ...) for a value that cannot train anything.
  void validate() const;
  /// The settings a resumed run must share with the run it continues (data order, noise, schedule), as JSON.
  std::string schedule_json() const;
};

struct StepReport {
  int64_t step = 0;
  double loss = 0, learning_rate = 0, gradient_norm = 0;
  std::optional<double> validation_loss;  // at validation steps, when there is a validation set
  std::optional<EnergyErrors> validation_errors;  // the energy task's errors at those steps
  std::optional<double> denoising_loss, structure_loss;  // SIPT: the two parts of the loss (and of validation)
  std::optional<double> validation_denoising_loss, validation_structure_loss;
  bool stopped_early = false;
  int64_t atoms = 0;
};

class Trainer {
 public:
  /// `out`: directory for checkpoint.ept (latest, with optimizer state), model.ept (final) and metrics.jsonl.
  /// With `parallel`, each process takes its share of every batch, gradients are averaged over processes, and
  /// rank 0 alone validates and writes files.
  /// `init`: start from these weights (and energy offsets) instead of a random initialisation of config.model,
  /// whose configuration it must have. `validation`: a corpus of its own to validate on (molecules the run never
  /// trains on, say); every entry of `corpus` is then trained on and config.validation_fraction is not used.
  /// `graph` (SIPT): a graph whose nodes are the corpus entries, in order; validation holds out whole trajectories.
  Trainer(const Corpus& corpus, const TrainConfig& config, std::string out, DataParallel* parallel = nullptr,
          EPTModel* init = nullptr, const Corpus* validation = nullptr, const ConformationGraph* graph = nullptr);
  /// Trains to config.steps (or stops after `stop_after` steps, as an interruption would); with `resume`,
  /// continues from out/checkpoint.ept, which must exist and come from the same corpus and schedule. Without it
  /// a folder that already holds a run is refused unless config.overwrite. A non-finite loss or gradient stops
  /// the run with an Error before the step is taken: the last checkpoint stays the last good one.
  /// `report` sees every step.
  void run(bool resume, const std::function<void(const StepReport&)>& report = {}, int64_t stop_after = -1);
  /// Mean validation loss of `model` (the zero predictor when `zero_predictor`), with fixed noise; none without
  /// a validation set (--validation-fraction 0).
  std::optional<double> validation_loss(EPTModel& model, bool zero_predictor = false);
  EPTModel& model() { return model_; }
  /// The objective's loss on corpus entries, with the noise drawn from `noise_seed`.
  torch::Tensor loss_on(EPTModel& model, const std::vector<size_t>& entries, uint64_t noise_seed,
                        bool zero_predictor = false);
  int64_t step() const { return step_; }
  /// Entries of validation_corpus() held out for validation (whole molecules, or whole trajectories of a
  /// labelled data set).
  const std::vector<size_t>& validation_entries() const { return validation_; }
  const Corpus& validation_corpus() const { return *held_; }
  const std::vector<size_t>& training_entries() const { return train_; }

 private:
  double learning_rate_at(int64_t step) const;
  torch::Tensor loss_on(const Corpus& from, EPTModel& model, const std::vector<size_t>& entries, uint64_t noise_seed,
                        bool zero_predictor);
  void save(const std::string& path, bool with_optimizer);
  /// The pooled embedding of each conformation of a batch [complexes, D], centred on the batch's mean (SIPT).
  torch::Tensor conformation_embeddings(const ModelOutput& out, const Batch& batch) const;

  const Corpus& corpus_;
  const Corpus* held_;  // what validation_ indexes: corpus_, or a validation corpus of its own
  TrainConfig config_;
  std::string out_;
  DataParallel* parallel_;
  Noise noise_;  // tabulates IGSO(3) once, not at every step
  std::vector<size_t> train_, validation_;
  std::vector<std::vector<size_t>> schedule_;  // entries of the batch of each step
  EPTModel model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  int64_t step_ = 0;
  std::string command_;  // "pretrain" or "finetune", for messages
  const ConformationGraph* graph_;
  std::unique_ptr<SiptSampler> sampler_, validation_sampler_;
  std::vector<std::vector<size_t>> validation_batches_;  // SIPT: fixed triplet batches of held-out nodes
  double last_denoising_ = 0, last_structure_ = 0;       // SIPT: parts of the last loss_on
  double best_validation_ = INFINITY;
  int64_t validations_without_improvement_ = 0;
};

}  // namespace ept
