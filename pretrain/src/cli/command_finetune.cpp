#include <torch/utils.h>

#include <filesystem>

#include "commands.h"
#include "ept/data/atomic_file.h"
#include "ept/model/checkpoint.h"
#include "ept/data/checksum.h"
#include "ept/training/conformation_graph.h"
#include "ept/data/dataset.h"
#include "ept/data/number.h"
#include "ept/model/descriptors.h"
#include "ept/error.h"
#include "ept/data/structure_io.h"
#include "ept/training/trainer.h"
#include "ept/data/trajectory.h"
#include "options.h"
#include "progress.h"

namespace ept::cli {
namespace {

// The conformations of MD trajectories as a corpus: one record per trajectory, its kept frames as conformers.
Corpus trajectory_corpus(const std::string& topology_path, const std::vector<std::string>& trajectories, int64_t stride) {
  const Structure topology = read_pdb(topology_path);
  std::vector<MoleculeRecord> records(trajectories.size());
  std::string identity = crc32_hex(crc32_of(read_file(topology_path))) + ";stride " + std::to_string(stride);
  for (size_t t = 0; t < trajectories.size(); ++t) {
    records[t].domain = "md-frame";
    records[t].source = trajectories[t];
    records[t].table = topology.table;
    identity += ";" + crc32_hex(crc32_of(read_file(trajectories[t])));
  }
  for (auto& f : read_trajectory_frames(trajectories, topology.table.size(), topology_path, stride))
    records[f.trajectory].conformers.push_back(std::move(f.data.positions));
  for (size_t t = 0; t < trajectories.size(); ++t)
    if (records[t].conformers.empty()) throw InputError("the trajectory '" + trajectories[t] + "' holds no complete frame");
  return Corpus::from_records(std::move(records), crc32_hex(crc32_of(identity)));
}

// --graph KIND:ARGUMENT over the corpus entries (one node per conformation, record by record).
ConformationGraph build_graph(const std::string& spec, const Corpus& corpus, int threads) {
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon), argument = colon == std::string::npos ? "" : spec.substr(colon + 1);
  const auto nodes = static_cast<int64_t>(corpus.entries.size());
  auto number = [&](const std::string& text) {
    if (const auto v = parse_finite(text)) return *v;
    throw InputError("--graph '" + spec + "': '" + text + "' is not a finite number");
  };
  if (kind == "time-lag") {
    const double tau = number(argument);
    if (tau != std::floor(tau)) throw InputError("--graph '" + spec + "': the time lag is a whole number of frames");
    std::vector<int64_t> lengths;
    for (const auto& r : corpus.records) lengths.push_back(static_cast<int64_t>(r.conformers.size()));
    return time_lag_graph(lengths, static_cast<int64_t>(tau));
  }
  if (kind == "rmsd") {
    const auto second = argument.find(':');
    const double radius = number(argument.substr(0, second));
    const std::string selection = second == std::string::npos ? "all" : argument.substr(second + 1);
    if (selection != "all" && selection != "heavy")
      throw InputError("--graph '" + spec + "': atoms '" + selection + "' are not known (use all or heavy)");
    const auto& table = corpus.records.front().table;
    std::vector<int64_t> atoms;
    for (const auto& r : corpus.records)
      if (r.table.size() != table.size())
        throw InputError("--graph rmsd compares conformations of one molecule; '" + r.source + "' has " +
                         std::to_string(r.table.size()) + " atoms, '" + corpus.records.front().source + "' " +
                         std::to_string(table.size()));
    for (size_t i = 0; i < table.size(); ++i)
      if (selection == "all" || table.atomic_numbers[i] > 1) atoms.push_back(static_cast<int64_t>(i));
    std::vector<std::vector<Vec3>> frames;
    for (const auto& e : corpus.entries) frames.push_back(e.record->conformers[e.conformer]);
    return rmsd_graph(frames, radius, atoms, threads);
  }
  if (kind == "labels") return label_graph(read_labels(argument, nodes));
  if (kind == "edges") return read_edge_list(argument, nodes);
  throw InputError("--graph '" + spec + "' is not known: use time-lag:FRAMES, rmsd:Å[:heavy], labels:FILE or edges:FILE");
}

}  // namespace

int finetune(const std::vector<std::string>& args) {
  TrainConfig c;
  c.task = Task::Energy;
  c.steps = 2000;
  c.warmup = 50;
  c.atoms_per_batch = 500;
  c.validation_fraction = 0.1;
  std::vector<std::string> data, validation_data, trajectories;
  std::string out, objective, init_path, dtype = "float32", topology, graph_spec, loss = "contrastive",
      negatives = "any", level = "molecule", denoising = "complete";
  int threads = 1;
  int64_t stride = 1;
  bool resume = false, from_scratch = false;
  po::options_description o("options");
  o.add_options()
      ("objective", po::value(&objective)->required(), "energy (energies and forces of a labelled data set) or sipt "
       "(denoising + a structure loss over a graph of conformations)")
      ("data", po::value(&data), "energy: labelled data set made by `ept label` (repeat to train on several); sipt: a "
       "corpus (`ept prepare --md`) whose conformations are the graph's nodes")
      ("out,o", po::value(&out)->required(), "run directory: checkpoint.ept, model.ept (energy: best validation; sipt: last step), metrics.jsonl "
       "(sipt: also graph.edges)")
      ("init", po::value(&init_path), "checkpoint to start from (a pretrained model); its sizes are kept")
      ("from-scratch", po::bool_switch(&from_scratch), "start from a random initialisation of the size options instead")
      ("resume", po::bool_switch(&resume), "continue from OUT/checkpoint.ept (same data and options)")
      ("energy-weight", po::value(&c.energy_weights.energy)->default_value(c.energy_weights.energy),
       "weight of the per-atom energy error")
      ("force-weight", po::value(&c.energy_weights.force)->default_value(c.energy_weights.force), "weight of the force error")
      ("validation-fraction", po::value(&c.validation_fraction)->default_value(c.validation_fraction),
       "held-out trajectories (whole trajectories, never single frames; 0: none); sipt: 0.25 unless given")
      ("validation-data", po::value(&validation_data), "validate on these labelled data sets instead (molecules never "
       "trained on: early stopping then favours what transfers); repeat for several")
      ("patience", po::value(&c.patience)->default_value(c.patience), "stop after this many validations without "
       "improvement (0: run all steps)");
  po::options_description so("sipt options (structure-inducing finetuning)");
  so.add_options()
      ("topology,t", po::value(&topology), "PDB of the molecule of --trajectory")
      ("trajectory", po::value(&trajectories), "DCD trajectory or .npy frames (frames × atoms × 3, Å) of --topology; "
       "repeat for several (nodes are numbered trajectory by trajectory, frame by frame)")
      ("stride", po::value(&stride)->default_value(stride), "keep every STRIDE-th frame")
      ("graph", po::value(&graph_spec), "the graph over conformations: time-lag:FRAMES (frames within that many of "
       "each other in one trajectory, after --stride), rmsd:Å[:heavy] (RMSD after superposition within the radius, "
       "on all or heavy atoms), labels:FILE (one state label per line and node, negative: none), edges:FILE (\"i j\" "
       "per line)")
      ("lambda", po::value(&c.sipt.lambda)->default_value(c.sipt.lambda), "L = (1 − λ)·L_denoise + λ·L_SI; 0: the "
       "ablation (same training, no structure loss)")
      ("loss", po::value(&loss)->default_value(loss), "contrastive or multi-similarity")
      ("margin-positive", po::value(&c.sipt.margin_positive)->default_value(c.sipt.margin_positive),
       "contrastive: neighbours farther than this are pulled in (distance of L2-normalised embeddings)")
      ("margin-negative", po::value(&c.sipt.margin_negative)->default_value(c.sipt.margin_negative),
       "contrastive: non-neighbours closer than this are pushed out")
      ("ms-positive-weight", po::value(&c.sipt.ms_positive_weight)->default_value(c.sipt.ms_positive_weight), "multi-similarity w⁺")
      ("ms-negative-weight", po::value(&c.sipt.ms_negative_weight)->default_value(c.sipt.ms_negative_weight), "multi-similarity w⁻")
      ("ms-threshold", po::value(&c.sipt.ms_threshold)->default_value(c.sipt.ms_threshold), "multi-similarity t (cosine)")
      ("ms-margin", po::value(&c.sipt.ms_margin)->default_value(c.sipt.ms_margin), "multi-similarity mining margin")
      ("anchors", po::value(&c.sipt.anchors)->default_value(c.sipt.anchors), "anchors per batch, each with a graph "
       "neighbour and a non-neighbour (3 × anchors conformations)")
      ("negatives", po::value(&negatives)->default_value(negatives), "any, or same-component (non-neighbours from "
       "the anchor's connected component only)")
      ("level", po::value(&level)->default_value(level), "embedding the structure loss shapes: molecule (one pooled "
       "row) or block (the block rows, concatenated)")
      ("denoising", po::value(&denoising)->default_value(denoising), "denoising objective: complete, translation or atom")
      ("sigma-translation", po::value(&c.noise.sigma_translation)->default_value(c.noise.sigma_translation), "Å")
      ("sigma-rotation", po::value(&c.noise.sigma_rotation)->default_value(c.noise.sigma_rotation), "IGSO(3) σ");
  add_training_options(o, c, dtype, threads);
  add_model_options(o, c.model);
  o.add(so);
  po::variables_map vm;
  if (!parse_options("ept finetune --objective energy --data DATA --init MODEL --out RUN [options]\n"
                     "ept finetune --objective sipt --topology PDB --trajectory DCD ... --graph time-lag:10 --init MODEL "
                     "--out RUN [options]\n\n"
                     "energy: finetunes a model's energy head and the network under it on the energies and forces of\n"
                     "a labelled data set (`ept label`): loss = w_E·((Ê − E)/(n·s))² + w_F·((F̂ − F)/s)² with forces\n"
                     "−∂Ê/∂x by double backward, s the labels' force RMS. Per-element energy offsets are fitted by\n"
                     "least squares first. Validation holds out whole trajectories; model.ept keeps the weights of\n"
                     "the best validation. The model's metadata says what its energy is (\"delta:FF\" for labels\n"
                     "made with --system: add it to that force field).\n\n"
                     "sipt: structure-inducing finetuning on conformations a simulation generated. Each batch holds\n"
                     "--anchors conformations, each with a graph neighbour and a non-neighbour; the loss is\n"
                     "(1 − λ)·(block denoising of all of them) + λ·(a structure loss on their pooled embeddings), so\n"
                     "that descriptors reflect the graph (frames close in time, in RMSD, or in the same state). The\n"
                     "graph is written to RUN/graph.edges; validation holds out whole trajectories; model.ept is the\n"
                     "last step's model and drops into EPTForce, DescriptorReporter and describe() unchanged.\n\n"
                     "Checkpoints are atomic; --resume continues exactly where the last checkpoint left off.",
                     o, args, vm))
    return 0;
  if (objective != "energy" && objective != "sipt")
    throw InputError("--objective '" + objective + "' is not known: finetune has 'energy' and 'sipt' (denoising "
                     "alone is `ept pretrain`)");
  const bool sipt = objective == "sipt";
  if (sipt) {
    c.task = Task::Sipt;
    c.validation_fraction = vm["validation-fraction"].defaulted() ? 0.25 : c.validation_fraction;
    c.sipt.loss = sipt_loss_from_name(loss);
    if (negatives != "any" && negatives != "same-component")
      throw InputError("--negatives must be any or same-component, got '" + negatives + "'");
    c.sipt.negatives_same_component = negatives == "same-component";
    c.sipt.level = descriptor_level(level);
    c.noise.objective = objective_from_name(denoising);
    if (graph_spec.empty()) throw InputError("--objective sipt needs --graph (time-lag:FRAMES, rmsd:Å, labels:FILE or edges:FILE)");
    if (data.empty() == trajectories.empty())
      throw InputError("--objective sipt: give the conformations either as --topology PDB --trajectory DCD ... or as "
                       "--data CORPUS");
    if (!trajectories.empty() && topology.empty()) throw InputError("--trajectory needs --topology (a PDB of the molecule)");
  } else if (data.empty()) {
    throw InputError("--objective energy needs --data (a labelled data set made by `ept label`)");
  }
  if (init_path.empty() == !from_scratch)
    throw InputError("give either --init MODEL (warm start, e.g. the shipped pretrained model) or --from-scratch");
  finish_training_options(c, dtype, threads);
  EPTModel init{nullptr};
  if (!init_path.empty()) {
    CheckpointInfo info;
    init = load_checkpoint(init_path, &info);
    c.model = info.config;
    // The file's name and checksum: a shared model carries no folder of the machine that made it.
    c.initial_model = std::filesystem::path(init_path).filename().string() + " (" + info.checksum + ")";
  }
  c.model.validate();
  c.validate();  // before any data is read
  const Corpus corpus = data.empty() ? trajectory_corpus(topology, trajectories, stride) : Corpus::load(data);
  std::optional<ConformationGraph> graph;
  if (sipt) {
    graph.emplace(build_graph(graph_spec, corpus, threads));
    if (graph->num_edges() == 0)
      throw InputError("the graph '" + graph_spec + "' has no edges over these " + std::to_string(graph->num_nodes()) +
                       " conformations: nothing to align the embeddings with; choose a larger lag or radius");
    std::cerr << "finetune: graph " << graph->description() << ": " << graph->num_nodes() << " conformations, "
              << graph->num_edges() << " edges, " << graph->num_components() << " connected components\n";
  }
  std::optional<Corpus> validation;
  if (!validation_data.empty()) {
    validation.emplace(Corpus::load(validation_data));
    c.validation_data = validation->fingerprint;
  }
  Trainer trainer(corpus, c, out, nullptr, init ? &init : nullptr, validation ? &*validation : nullptr,
                  graph ? &*graph : nullptr);
  std::cerr << "finetune: " << trainer.training_entries().size() << " training and "
            << trainer.validation_entries().size() << " validation conformations\n";
  Progress progress("steps", c.steps);
  std::optional<EnergyErrors> last;
  bool stopped = false;
  trainer.run(resume, [&](const StepReport& r) {
    progress.update(r.step);
    if (r.validation_structure_loss)
      std::cerr << "\nstep " << r.step << ": loss " << r.loss << ", validation " << *r.validation_loss << " (denoising "
                << *r.validation_denoising_loss << ", structure " << *r.validation_structure_loss << ")\n";
    if (r.validation_errors) {
      last = r.validation_errors;
      std::cerr << "\nstep " << r.step << ": loss " << r.loss << ", validation " << *r.validation_loss << " (energy MAE "
                << r.validation_errors->energy_mae << " kJ/mol, force MAE " << r.validation_errors->force_mae
                << " kJ/mol/Å)\n";
    }
    stopped = stopped || r.stopped_early;
  });
  progress.finish();
  if (graph) write_edge_list(*graph, (std::filesystem::path(out) / "graph.edges").string());
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
