#include <iostream>

#include "commands.h"
#include "ept/model/checkpoint.h"
#include "options.h"

namespace ept::cli {

int info(const std::vector<std::string>& args) {
  std::string path;
  po::options_description o("options");
  o.add_options()("model,m", po::value(&path)->required(), "checkpoint file");
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_options("ept info --model MODEL\n\nPrints the model's configuration, checksum and metadata.", o, args, vm))
    return 0;
  CheckpointInfo meta;
  EPTModel model = load_checkpoint(path, &meta);
  int64_t count = 0;
  for (const auto& p : model->parameters()) count += p.numel();
  std::cout << "model:      " << path << "\nchecksum:   " << meta.checksum << "\nvocabulary: v" << meta.vocab_version
            << "\ndtype:      " << (meta.dtype == torch::kFloat64 ? "float64" : "float32") << "\nparameters: " << count
            << "\nenergy:     " << energy_meaning_text(meta.energy) << "\nconfig:     " << meta.config.to_json()
            << "\nmetadata:   " << meta.metadata << "\n";
  return 0;
}

}  // namespace ept::cli
