#include <torch/utils.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "ept/data/atomic_file.h"
#include "ept/model/checkpoint.h"
#include "ept/data/dcd.h"
#include "ept/model/descriptors.h"
#include "ept/error.h"
#include "ept/model/evaluator.h"
#include "ept/data/npy.h"
#include "ept/data/structure_io.h"
#include "options.h"
#include "progress.h"

namespace ept::cli {

int describe(const std::vector<std::string>& args) {
  std::string model_path, topology_path, trajectory_path, level_name = "block", out;
  int threads = 1;
  po::options_description o("options");
  o.add_options()
      ("model,m", po::value(&model_path)->required(), "checkpoint file")
      ("topology,t", po::value(&topology_path)->required(), "PDB file: atoms, residues, chains, bonds")
      ("trajectory", po::value(&trajectory_path)->required(), "DCD trajectory of the same atoms (Å)")
      ("level", po::value(&level_name)->default_value(level_name), "atom, block, segment or molecule")
      ("out,o", po::value(&out)->required(), "output .npy file (frames × rows × 2d), with OUT.json beside it")
      ("threads", po::value(&threads)->default_value(threads), "intra-op threads");
  po::variables_map vm;
  if (!parse_options("ept describe --model MODEL --topology PDB --trajectory DCD --level block --out FILE.npy\n\n"
                     "Invariant descriptors of every frame: rows of [h ; |V|] (scalar features and vector-feature\n"
                     "norms) per atom, block (residue or heavy-atom group), segment or molecule. Periodic when the\n"
                     "DCD has unit cells. The same numbers as EPTForce.getDescriptors in a live simulation.",
                     o, args, vm))
    return 0;
  const DescriptorLevel level = descriptor_level(level_name);
  if (threads < 1) throw InputError("--threads must be at least 1");
  // Fail on an unwritable --out now, not after every frame is computed.
  check_writable(out);
  check_writable(out + ".json");
  torch::set_num_threads(threads);
  CheckpointInfo meta;
  EPTModel model = load_checkpoint(model_path, &meta);
  model->eval();
  const torch::Dtype dtype = meta.dtype;
  const Complex complex = build_complex(read_pdb(topology_path).table);
  DcdReader reader(trajectory_path);
  if (reader.num_atoms() != complex.num_atoms())
    throw InputError("the trajectory '" + trajectory_path + "' has " + std::to_string(reader.num_atoms()) +
                     " atoms but the topology '" + topology_path + "' has " + std::to_string(complex.num_atoms()));
  const std::vector<std::string> labels = descriptor_labels(complex, level);
  const int64_t rows = static_cast<int64_t>(labels.size()), columns = 2 * meta.config.hidden;

  std::vector<double> values;
  int64_t frames = 0;
  Progress progress("frames", reader.num_frames_in_header());
  // Frame after frame through the evaluator a live simulation uses (same numbers as EPTForce.getDescriptors).
  Evaluator evaluator(model, complex, {dtype});
  DcdFrame frame;
  while (reader.read(frame)) {
    try {
      evaluator.set_positions(frame.positions, frame.box);
    } catch (const InputError& e) {
      throw InputError("frame " + std::to_string(frames) + " of '" + trajectory_path + "': " + e.what());
    }
    const torch::Tensor d = evaluator.descriptors(level);
    values.insert(values.end(), d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
    progress.update(++frames);
  }
  progress.finish();
  if (reader.truncated())
    std::cerr << "ept describe: warning: '" << trajectory_path << "' ends inside frame " << frames
              << " (a run writing it was probably killed); described the " << frames << " complete frames\n";
  if (frames == 0) throw InputError("the trajectory '" + trajectory_path + "' holds no complete frame");
  save_npy(out, {frames, rows, columns}, values);
  const nlohmann::ordered_json sidecar = {{"model", model_path}, {"model_checksum", meta.checksum},
                                          {"level", to_string(level)}, {"labels", labels},
                                          {"columns", "[h (d) ; |V| (d)]"}, {"frames", frames},
                                          {"topology", topology_path}, {"trajectory", trajectory_path}};
  write_file_atomically(out + ".json", sidecar.dump(1));
  std::cout << "wrote " << out << ": " << frames << " frames × " << rows << " " << to_string(level) << " rows × "
            << columns << " columns\n";
  return 0;
}

}  // namespace ept::cli
