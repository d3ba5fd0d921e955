#include <torch/utils.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "ept/model/checkpoint.h"
#include "ept/error.h"
#include "options.h"

namespace ept::cli {

int init_model(const std::vector<std::string>& args) {
  ModelConfig c;
  std::string out, attention = "sparse", dtype = "float32", label = "randomly initialised, untrained";
  int64_t seed = 0;
  po::options_description o("options");
  o.add_options()
      ("out,o", po::value(&out)->required(), "checkpoint file to write (atomically)")
      ("attention", po::value(&attention)->default_value(attention), "sparse (attention over the pairs within the cutoff, O(N)) or dense (attention over every two atoms, O(N²); "
       "isolated molecules)")
      ("dtype", po::value(&dtype)->default_value(dtype), "float32 or float64 weights")
      ("seed", po::value(&seed)->default_value(seed), "random seed of the initialisation")
      ("label", po::value(&label)->default_value(label), "description stored in the model's metadata");
  add_model_options(o, c);
  po::variables_map vm;
  if (!parse_options("ept init --out MODEL [options]\n\nWrites a randomly initialised EPT model: the start of "
                     "training, and a stand-in where no trained model exists.", o, args, vm))
    return 0;
  if (attention != "sparse" && attention != "dense")
    throw InputError("--attention must be 'sparse' or 'dense', got '" + attention + "'");
  if (dtype != "float32" && dtype != "float64") throw InputError("--dtype must be 'float32' or 'float64', got '" + dtype + "'");
  c.attention = attention == "dense" ? AttentionMode::Dense : AttentionMode::Sparse;
  torch::manual_seed(static_cast<uint64_t>(seed));
  EPTModel model(c);
  if (dtype == "float64") model->to(torch::kFloat64);
  const nlohmann::json meta = {{"label", label}, {"trained", false}, {"seed", seed}, {"energy", "untrained"}};
  save_checkpoint(model, out, meta.dump());
  std::cout << "wrote " << out << " (" << label << ")\n";
  return 0;
}

}  // namespace ept::cli
