#include <torch/utils.h>

#include <iomanip>

#include "commands.h"
#include "ept/data/dataset.h"
#include "ept/error.h"
#include "ept/training/trainer.h"
#include "options.h"
#include "progress.h"

namespace ept::cli {

int pretrain(const std::vector<std::string>& args) {
  TrainConfig c;
  std::string corpus_dir, out, objective = "complete", dtype = "float32";
  int threads = 1;
  bool resume = false;
  po::options_description o("options");
  o.add_options()
      ("corpus", po::value(&corpus_dir)->required(), "corpus directory made by `ept prepare`")
      ("out,o", po::value(&out)->required(), "run directory: checkpoint.ept, model.ept, metrics.jsonl")
      ("resume", po::bool_switch(&resume), "continue from OUT/checkpoint.ept (same corpus and options)")
      ("validation-fraction", po::value(&c.validation_fraction)->default_value(c.validation_fraction), "held-out molecules (0: no validation)")
      ("objective", po::value(&objective)->default_value(objective), "complete (block translation + rotation), translation, or atom")
      ("sigma-translation", po::value(&c.noise.sigma_translation)->default_value(c.noise.sigma_translation), "Å")
      ("sigma-rotation", po::value(&c.noise.sigma_rotation)->default_value(c.noise.sigma_rotation), "IGSO(3) σ");
  add_training_options(o, c, dtype, threads);
  add_model_options(o, c.model);
  po::variables_map vm;
  if (!parse_options("ept pretrain --corpus CORPUS --out RUN [options]\n\n"
                     "Block-level denoising pretraining (shared/EPT-SPEC.md): the model's direct force head learns\n"
                     "to undo random block translations and IGSO(3) rotations. Checkpoints are atomic; --resume\n"
                     "continues exactly where the last checkpoint left off. Data-parallel over processes like torchrun:\n"
                     "RANK, WORLD_SIZE and MASTER_ADDR/MASTER_PORT (or EPT_STORE_FILE) in the environment.",
                     o, args, vm))
    return 0;
  c.noise.objective = objective_from_name(objective);
  finish_training_options(c, dtype, threads);
  c.model.validate();
  const Corpus corpus = Corpus::load(corpus_dir);
  const auto parallel = DataParallel::from_environment();  // RANK, WORLD_SIZE, MASTER_ADDR/PORT or EPT_STORE_FILE
  Trainer trainer(corpus, c, out, parallel.get());
  if (parallel && parallel->rank() != 0) {
    trainer.run(resume);
    return 0;
  }
  Progress progress("steps", c.steps);
  std::optional<double> last_validation;
  trainer.run(resume, [&](const StepReport& r) {
    progress.update(r.step);
    if (r.validation_loss) {
      last_validation = r.validation_loss;
      std::cerr << "\nstep " << r.step << ": loss " << r.loss << ", validation " << *r.validation_loss << "\n";
    }
  });
  progress.finish();
  std::cout << "wrote " << out << "/model.ept after " << trainer.step() << " steps; ";
  if (last_validation)
    std::cout << "validation loss " << *last_validation << " (zero predictor "
              << *trainer.validation_loss(trainer.model(), true) << ")\n";
  else
    std::cout << "no validation (--validation-fraction 0)\n";
  return 0;
}

}  // namespace ept::cli
