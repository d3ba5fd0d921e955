#include "options.h"

#include <torch/utils.h>

#include "ept/model/config.h"
#include "ept/error.h"
#include "ept/training/trainer.h"

namespace ept::cli {

void add_model_options(po::options_description& options, ModelConfig& c) {
  options.add_options()
      ("hidden", po::value(&c.hidden)->default_value(c.hidden), "scalar/vector channels d")
      ("ffn", po::value(&c.ffn)->default_value(c.ffn), "feed-forward width")
      ("heads", po::value(&c.heads)->default_value(c.heads), "attention heads (d must divide by it)")
      ("layers", po::value(&c.layers)->default_value(c.layers), "attention + feed-forward blocks")
      ("radial", po::value(&c.radial)->default_value(c.radial), "radial basis functions")
      ("cutoff", po::value(&c.cutoff)->default_value(c.cutoff), "cutoff in Å");
}

void add_training_options(po::options_description& o, TrainConfig& c, std::string& dtype, int& threads) {
  o.add_options()
      ("overwrite", po::bool_switch(&c.overwrite), "replace a run already in OUT")
      ("steps", po::value(&c.steps)->default_value(c.steps), "optimizer steps")
      ("lr", po::value(&c.learning_rate)->default_value(c.learning_rate), "peak learning rate (AdamW)")
      ("warmup", po::value(&c.warmup)->default_value(c.warmup), "linear warm-up steps, then cosine decay")
      ("weight-decay", po::value(&c.weight_decay)->default_value(c.weight_decay), "AdamW weight decay")
      ("clip", po::value(&c.clip_norm)->default_value(c.clip_norm), "gradient norm clipping")
      ("atoms-per-batch", po::value(&c.atoms_per_batch)->default_value(c.atoms_per_batch), "atom budget of a batch")
      ("validate-every", po::value(&c.validate_every)->default_value(c.validate_every), "steps between validations")
      ("checkpoint-every", po::value(&c.checkpoint_every)->default_value(c.checkpoint_every), "steps between checkpoints")
      ("dtype", po::value(&dtype)->default_value(dtype), "float32 or float64")
      ("seed", po::value(&c.seed)->default_value(c.seed), "seed of initialisation, data order and (denoising) noise")
      ("threads", po::value(&threads)->default_value(threads), "intra-op threads");
}

void finish_training_options(TrainConfig& c, const std::string& dtype, int threads) {
  if (dtype != "float32" && dtype != "float64") throw InputError("--dtype must be float32 or float64");
  c.dtype = dtype == "float64" ? torch::kFloat64 : torch::kFloat32;
  if (threads < 1) throw InputError("--threads must be at least 1");
  torch::set_num_threads(threads);
}

bool parse_options(const std::string& usage, po::options_description& options, const std::vector<std::string>& args,
                   po::variables_map& vm) {
  options.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(args).options(options).run(), vm);
    if (vm.count("help")) {
      std::cout << usage << "\n\n" << options << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw InputError(std::string(e.what()) + " (see --help)");
  }
  return true;
}

}  // namespace ept::cli
