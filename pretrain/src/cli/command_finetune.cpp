#include <torch/utils.h>

#include "commands.h"
#include "ept/checkpoint.h"
#include "ept/dataset.h"
#include "ept/error.h"
#include "ept/trainer.h"
#include "options.h"
#include "progress.h"

namespace ept::cli {

int finetune(const std::vector<std::string>& args) {
  TrainConfig c;
  c.task = Task::Energy;
  c.steps = 2000;
  c.warmup = 50;
  c.atoms_per_batch = 500;
  c.validation_fraction = 0.1;
  std::vector<std::string> data, validation_data;
  std::string out, objective, init_path, dtype = "float32";
  int threads = 1;
  bool resume = false, from_scratch = false;
  po::options_description o("options");
  o.add_options()
      ("objective", po::value(&objective)->required(), "energy (energies and forces of a labelled data set)")
      ("data", po::value(&data)->required(), "labelled data set made by `ept label` (repeat to train on several)")
      ("out,o", po::value(&out)->required(), "run directory: checkpoint.ept, model.ept (best validation), metrics.jsonl")
      ("init", po::value(&init_path), "checkpoint to start from (a pretrained model); its sizes are kept")
      ("from-scratch", po::bool_switch(&from_scratch), "start from a random initialisation of the size options instead")
      ("resume", po::bool_switch(&resume), "continue from OUT/checkpoint.ept (same data and options)")
      ("energy-weight", po::value(&c.energy_weights.energy)->default_value(c.energy_weights.energy),
       "weight of the per-atom energy error")
      ("force-weight", po::value(&c.energy_weights.force)->default_value(c.energy_weights.force), "weight of the force error")
      ("validation-fraction", po::value(&c.validation_fraction)->default_value(c.validation_fraction),
       "held-out trajectories (whole trajectories, never single frames; 0: none)")
      ("validation-data", po::value(&validation_data), "validate on these labelled data sets instead (molecules never "
       "trained on: early stopping then favours what transfers); repeat for several")
      ("patience", po::value(&c.patience)->default_value(c.patience), "stop after this many validations without "
       "improvement (0: run all steps)");
  add_training_options(o, c, dtype, threads);
  add_model_options(o, c.model);
  po::variables_map vm;
  if (!parse_options("ept finetune --objective energy --data DATA --init MODEL --out RUN [options]\n\n"
                     "Finetunes a model's energy head and the network under it on the energies and forces of a\n"
                     "labelled data set (`ept label`): loss = w_E·((Ê − E)/(n·s))² + w_F·((F̂ − F)/s)² with forces\n"
                     "−∂Ê/∂x by double backward, s the labels' force RMS. Per-element energy offsets are fitted by\n"
                     "least squares first. Validation holds out whole trajectories; model.ept keeps the weights of\n"
                     "the best validation. The model's metadata says what its energy is (\"delta:FF\" for labels\n"
                     "made with --system: add it to that force field). Checkpoints are atomic; --resume continues\n"
                     "exactly where the last checkpoint left off.",
                     o, args, vm))
    return 0;
  if (objective != "energy")
    throw InputError("--objective '" + objective + "' is not known here: finetune has 'energy' (denoising is `ept pretrain`)");
  if (init_path.empty() == !from_scratch)
    throw InputError("give either --init MODEL (warm start, e.g. the shipped pretrained model) or --from-scratch");
  finish_training_options(c, dtype, threads);
  EPTModel init{nullptr};
  if (!init_path.empty()) {
    CheckpointInfo info;
    init = load_checkpoint(init_path, &info);
    c.model = info.config;
    c.initial_model = init_path + " (" + info.checksum + ")";
  }
  c.model.validate();
  const Corpus corpus = Corpus::load(data);
  std::optional<Corpus> validation;
  if (!validation_data.empty()) {
    validation.emplace(Corpus::load(validation_data));
    c.validation_data = validation->fingerprint;
  }
  Trainer trainer(corpus, c, out, nullptr, init ? &init : nullptr, validation ? &*validation : nullptr);
  std::cerr << "finetune: " << trainer.training_entries().size() << " training and "
            << trainer.validation_entries().size() << " validation conformations\n";
  Progress progress("steps", c.steps);
  std::optional<EnergyErrors> last;
  bool stopped = false;
  trainer.run(resume, [&](const StepReport& r) {
    progress.update(r.step);
    if (r.validation_errors) {
      last = r.validation_errors;
      std::cerr << "\nstep " << r.step << ": loss " << r.loss << ", validation " << *r.validation_loss << " (energy MAE "
                << r.validation_errors->energy_mae << " kJ/mol, force MAE " << r.validation_errors->force_mae
                << " kJ/mol/Å)\n";
    }
    stopped = stopped || r.stopped_early;
  });
  progress.finish();
  std::cout << "wrote " << out << "/model.ept after " << trainer.step() << " steps" << (stopped ? " (stopped early)" : "");
  if (last) {
    const auto zero = energy_errors(nullptr, trainer.validation_corpus(), trainer.validation_entries());
    std::cout << "; last validation: energy MAE " << last->energy_mae << " kJ/mol, force MAE " << last->force_mae
              << " kJ/mol/Å (labels alone: " << zero.energy_mae << ", " << zero.force_mae << ")";
  }
  std::cout << "\n";
  return 0;
}

}  // namespace ept::cli
