#include "options.h"

#include "ept/config.h"
#include "ept/error.h"

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
