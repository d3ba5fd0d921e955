#include <torch/utils.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "ept/model/checkpoint.h"
#include "ept/data/dataset.h"
#include "ept/error.h"
#include "ept/training/trainer.h"
#include "options.h"

namespace ept::cli {

int validate(const std::vector<std::string>& args) {
  std::string model_path, objective = "complete";
  std::vector<std::string> corpus_dirs;
  bool as_json = false;
  TrainConfig c;
  int threads = 1;
  po::options_description o("options");
  o.add_options()
      ("model,m", po::value(&model_path)->required(), "checkpoint file")
      ("corpus", po::value(&corpus_dirs)->required(), "corpus made by `ept prepare`, or for the energy objective labelled "
       "data sets made by `ept label` (repeat for several)")
      ("objective", po::value(&objective)->default_value(objective), "complete, translation or atom; energy")
      ("json", po::bool_switch(&as_json), "energy objective: print one JSON object")
      ("sigma-translation", po::value(&c.noise.sigma_translation)->default_value(c.noise.sigma_translation), "Å")
      ("sigma-rotation", po::value(&c.noise.sigma_rotation)->default_value(c.noise.sigma_rotation), "IGSO(3) σ")
      ("validation-fraction", po::value(&c.validation_fraction)->default_value(c.validation_fraction),
       "held-out molecules (as in training); 1: every molecule of the corpus")
      ("seed", po::value(&c.seed)->default_value(c.seed), "seed of the validation noise (as in training)")
      ("threads", po::value(&threads)->default_value(threads), "intra-op threads");
  po::variables_map vm;
  if (!parse_options("ept validate --model MODEL --corpus CORPUS [--objective complete]\n\n"
                     "Denoising loss of a model on the held-out molecules of a corpus, next to the zero predictor\n"
                     "(no displacement): the numbers of a model card. Same split and noise as `ept pretrain`.\n"
                     "With --objective energy: energy and force RMSE and MAE of the model on every configuration of\n"
                     "labelled data sets (total energies as they are; for Δ labels also the energy MAE with each\n"
                     "molecule's mean error removed), next to predicting zero — for Δ labels, the force field\n"
                     "alone. Units kJ/mol per configuration and kJ/mol/Å per component.",
                     o, args, vm))
    return 0;
  torch::set_num_threads(threads);
  if (objective == "energy") {
    EPTModel model = load_checkpoint(model_path);
    const Corpus corpus = Corpus::load(corpus_dirs);
    if (corpus.labels.empty())
      throw InputError("--objective energy needs labelled data sets (`ept label`); '" + corpus_dirs[0] + "' has no labels");
    std::vector<size_t> all(corpus.entries.size());
    for (size_t k = 0; k < all.size(); ++k) all[k] = k;
    const auto m = energy_errors(&model, corpus, all), zero = energy_errors(nullptr, corpus, all);
    if (as_json) {
      const std::string meaning = nlohmann::json::parse(corpus.labels).value("energy", "");
      std::cout << nlohmann::ordered_json{{"model", model_path}, {"energy", meaning},
                                          {"conformations", m.conformations}, {"molecules", m.molecules},
                                          {"energy_rmse", m.energy_rmse}, {"energy_mae", m.energy_mae},
                                          {"energy_mae_mean_removed", m.energy_mae_mean_removed},
                                          {"force_rmse", m.force_rmse}, {"force_mae", m.force_mae},
                                          {"zero_energy_mae", zero.energy_mae},
                                          {"zero_energy_mae_mean_removed", zero.energy_mae_mean_removed},
                                          {"zero_force_mae", zero.force_mae}, {"zero_force_rmse", zero.force_rmse},
                                          {"units", {{"energy", "kJ/mol"}, {"forces", "kJ/mol/Å"}}}}.dump() << "\n";
    } else {
      std::cout << m.conformations << " conformations of " << m.molecules << " molecules: energy RMSE " << m.energy_rmse
                << ", MAE " << m.energy_mae << " (each molecule's mean error removed: " << m.energy_mae_mean_removed
                << ") kJ/mol; force RMSE " << m.force_rmse << ", MAE " << m.force_mae << " kJ/mol/Å; predicting zero "
                << "(for Δ labels: the force field alone): energy MAE " << zero.energy_mae << " ("
                << zero.energy_mae_mean_removed << "), force MAE " << zero.force_mae << "\n";
    }
    return 0;
  }
  c.noise.objective = objective_from_name(objective);
  CheckpointInfo info;
  EPTModel model = load_checkpoint(model_path, &info);
  c.model = info.config;
  c.dtype = info.dtype;
  c.steps = 1;
  c.evaluation_only = true;
  const Corpus corpus = Corpus::load(corpus_dirs);
  Trainer trainer(corpus, c, "");
  const auto loss = trainer.validation_loss(model);
  if (!loss) throw InputError("--validation-fraction " + std::to_string(c.validation_fraction) +
                              " holds out no molecule of this corpus: nothing to validate on");
  std::cout << "objective " << objective << ": validation loss " << *loss << ", zero predictor "
            << *trainer.validation_loss(model, true) << "\n";
  return 0;
}

}  // namespace ept::cli
