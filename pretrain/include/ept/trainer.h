#pragma once
// Block-level denoising pretraining on one process: AdamW, linear warm-up then cosine decay, gradient clipping,
// batches packed to an atom budget, a held-out validation set, JSON-lines metrics and atomic checkpoints.
//
// Every random choice is a function of (seed, epoch) for the data order and (seed, step) for the noise, so a
// run resumed from a checkpoint takes exactly the steps an uninterrupted run takes (bitwise in float64 on one
// thread).
#include <torch/optim/adamw.h>
#include <torch/types.h>

#include <functional>
#include <optional>
#include <string>

#include "ept/config.h"
#include "ept/dataset.h"
#include "ept/distributed.h"
#include "ept/model.h"
#include "ept/noise.h"

namespace ept {

struct TrainConfig {
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
  /// Replace a run already in the output folder (its checkpoint, model and metrics) instead of refusing.
  bool overwrite = false;

  /// InputError naming the option (--lr, --clip, ...) for a value that cannot train anything.
  void validate() const;
  /// The settings a resumed run must share with the run it continues (data order, noise, schedule), as JSON.
  std::string schedule_json() const;
};

struct StepReport {
  int64_t step = 0;
  double loss = 0, learning_rate = 0, gradient_norm = 0;
  std::optional<double> validation_loss;  // at validation steps, when there is a validation set
  int64_t atoms = 0;
};

class Trainer {
 public:
  /// `out`: directory for checkpoint.ept (latest, with optimizer state), model.ept (final) and metrics.jsonl.
  /// With `parallel`, each process takes its share of every batch, gradients are averaged over processes, and
  /// rank 0 alone validates and writes files.
  Trainer(const Corpus& corpus, const TrainConfig& config, std::string out, DataParallel* parallel = nullptr);
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

 private:
  double learning_rate_at(int64_t step) const;
  void save(const std::string& path, bool with_optimizer);

  const Corpus& corpus_;
  TrainConfig config_;
  std::string out_;
  DataParallel* parallel_;
  Noise noise_;  // tabulates IGSO(3) once, not at every step
  std::vector<size_t> train_, validation_;
  std::vector<std::vector<size_t>> schedule_;  // entries of the batch of each step
  EPTModel model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  int64_t step_ = 0;
};

}  // namespace ept
