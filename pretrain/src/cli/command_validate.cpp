#include <torch/utils.h>

#include <iostream>

#include "commands.h"
#include "ept/checkpoint.h"
#include "ept/dataset.h"
#include "ept/error.h"
#include "ept/trainer.h"
#include "options.h"

namespace ept::cli {

int validate(const std::vector<std::string>& args) {
  std::string model_path, corpus_dir, objective = "complete";
  TrainConfig c;
  int threads = 1;
  po::options_description o("options");
  o.add_options()
      ("model,m", po::value(&model_path)->required(), "checkpoint file")
      ("corpus", po::value(&corpus_dir)->required(), "corpus directory made by `ept prepare`")
      ("objective", po::value(&objective)->default_value(objective), "complete, translation or atom")
      ("sigma-translation", po::value(&c.noise.sigma_translation)->default_value(c.noise.sigma_translation), "Å")
      ("sigma-rotation", po::value(&c.noise.sigma_rotation)->default_value(c.noise.sigma_rotation), "IGSO(3) σ")
      ("validation-fraction", po::value(&c.validation_fraction)->default_value(c.validation_fraction),
       "held-out molecules (as in training)")
      ("seed", po::value(&c.seed)->default_value(c.seed), "seed of the validation noise (as in training)")
      ("threads", po::value(&threads)->default_value(threads), "intra-op threads");
  po::variables_map vm;
  if (!parse_options("ept validate --model MODEL --corpus CORPUS [--objective complete]\n\n"
                     "Denoising loss of a model on the held-out molecules of a corpus, next to the zero predictor\n"
                     "(no displacement): the numbers of a model card. Same split and noise as `ept pretrain`.",
                     o, args, vm))
    return 0;
  c.noise.objective = objective_from_name(objective);
  torch::set_num_threads(threads);
  CheckpointInfo info;
  EPTModel model = load_checkpoint(model_path, &info);
  c.model = info.config;
  c.dtype = info.dtype;
  c.steps = 1;
  const Corpus corpus = Corpus::load(corpus_dir);
  Trainer trainer(corpus, c, "");
  const auto loss = trainer.validation_loss(model);
  if (!loss) throw InputError("--validation-fraction " + std::to_string(c.validation_fraction) +
                              " holds out no molecule of this corpus: nothing to validate on");
  std::cout << "objective " << objective << ": validation loss " << *loss << ", zero predictor "
            << *trainer.validation_loss(model, true) << "\n";
  return 0;
}

}  // namespace ept::cli
