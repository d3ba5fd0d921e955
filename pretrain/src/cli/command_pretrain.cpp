#include <torch/utils.h>

#include <iomanip>

#include "commands.h"
#include "ept/dataset.h"
#include "ept/error.h"
#include "ept/trainer.h"
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
      ("overwrite", po::bool_switch(&c.overwrite), "replace a run already in OUT")
      ("steps", po::value(&c.steps)->default_value(c.steps), "optimizer steps")
      ("lr", po::value(&c.learning_rate)->default_value(c.learning_rate), "peak learning rate (AdamW)")
      ("warmup", po::value(&c.warmup)->default_value(c.warmup), "linear warm-up steps, then cosine decay")
      ("weight-decay", po::value(&c.weight_decay)->default_value(c.weight_decay), "AdamW weight decay")
      ("clip", po::value(&c.clip_norm)->default_value(c.clip_norm), "gradient norm clipping")
      ("atoms-per-batch", po::value(&c.atoms_per_batch)->default_value(c.atoms_per_batch), "atom budget of a batch")
      ("validation-fraction", po::value(&c.validation_fraction)->default_value(c.validation_fraction), "held-out molecules (0: no validation)")
      ("validate-every", po::value(&c.validate_every)->default_value(c.validate_every), "steps between validations")
      ("checkpoint-every", po::value(&c.checkpoint_every)->default_value(c.checkpoint_every), "steps between checkpoints")
      ("objective", po::value(&objective)->default_value(objective), "complete (block translation + rotation), translation, or atom")
      ("sigma-translation", po::value(&c.noise.sigma_translation)->default_value(c.noise.sigma_translation), "Å")
      ("sigma-rotation", po::value(&c.noise.sigma_rotation)->default_value(c.noise.sigma_rotation), "IGSO(3) σ")
      ("dtype", po::value(&dtype)->default_value(dtype), "float32 or float64")
      ("seed", po::value(&c.seed)->default_value(c.seed), "seed of initialisation, data order and noise")
      ("threads", po::value(&threads)->default_value(threads), "intra-op threads");
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
  if (dtype != "float32" && dtype != "float64") throw InputError("--dtype must be float32 or float64");
  c.dtype = dtype == "float64" ? torch::kFloat64 : torch::kFloat32;
  if (threads < 1) throw InputError("--threads must be at least 1");
  torch::set_num_threads(threads);
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
