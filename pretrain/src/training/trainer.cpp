#include "ept/training/trainer.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/serialize.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "ept/data/base64.h"
#include "ept/model/batch.h"
#include "ept/model/evaluator.h"
#include "ept/model/checkpoint.h"
#include "ept/model/descriptors.h"
#include "ept/model/geometry.h"
#include "ept/error.h"
#include "ept/model/graph.h"

namespace ept {
namespace {

uint64_t mix(uint64_t a, uint64_t b) {  // splitmix64 of a combined key: independent streams per (seed, index)
  uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}


// The shortest text that reads back as v: "0" for an integer option's 0, "0.001" for a rate.
std::string finite_text(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "NaN" : "inf";
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, v).ptr;
  return std::string(text, end);
}

}  // namespace

void TrainConfig::validate() const {
  auto bad = [](const std::string& option, const std::string& expected, double value) {
    return InputError(option + " must be " + expected + ", got " + finite_text(value));
  };
  if (steps < 1) throw bad("--steps", "at least 1", static_cast<double>(steps));
  if (!(std::isfinite(learning_rate) && learning_rate > 0)) throw bad("--lr", "a finite number > 0", learning_rate);
  if (warmup < 0) throw bad("--warmup", "at least 0", static_cast<double>(warmup));
  if (!(std::isfinite(weight_decay) && weight_decay >= 0)) throw bad("--weight-decay", "a finite number ≥ 0", weight_decay);
  if (!(std::isfinite(clip_norm) && clip_norm > 0))
    throw bad("--clip", "a finite gradient norm > 0 (0 would clip every step to nothing)", clip_norm);
  if (atoms_per_batch < 1) throw bad("--atoms-per-batch", "at least 1", static_cast<double>(atoms_per_batch));
  if (evaluation_only ? !(validation_fraction > 0 && validation_fraction <= 1)
                      : !(validation_fraction >= 0 && validation_fraction < 1))
    throw bad("--validation-fraction", evaluation_only ? "in (0, 1] (1: every molecule)" : "in [0, 1) (0: no validation)",
              validation_fraction);
  if (validate_every < 1) throw bad("--validate-every", "at least 1", static_cast<double>(validate_every));
  if (checkpoint_every < 1) throw bad("--checkpoint-every", "at least 1", static_cast<double>(checkpoint_every));
  if (patience < 0) throw bad("--patience", "at least 0 (0: no early stopping)", static_cast<double>(patience));
  if (!(std::isfinite(energy_weights.energy) && energy_weights.energy >= 0))
    throw bad("--energy-weight", "a finite number ≥ 0", energy_weights.energy);
  if (!(std::isfinite(energy_weights.force) && energy_weights.force >= 0))
    throw bad("--force-weight", "a finite number ≥ 0", energy_weights.force);
  if (energy_weights.energy + energy_weights.force <= 0)
    throw InputError("--energy-weight and --force-weight cannot both be 0: the loss would be empty");
  if (!(std::isfinite(noise.sigma_translation) && noise.sigma_translation > 0))
    throw bad("--sigma-translation", "a finite length > 0 Å", noise.sigma_translation);
  if (!(std::isfinite(noise.sigma_rotation) && noise.sigma_rotation > 0))
    throw bad("--sigma-rotation", "a finite number > 0", noise.sigma_rotation);
  if (task == Task::Sipt) sipt.validate();
}

std::string TrainConfig::schedule_json() const {
  if (task == Task::Energy)
    return nlohmann::ordered_json{{"task", "energy"}, {"steps", steps}, {"lr", learning_rate}, {"warmup", warmup},
                                  {"weight_decay", weight_decay}, {"clip", clip_norm},
                                  {"atoms_per_batch", atoms_per_batch}, {"validation_fraction", validation_fraction},
                                  {"seed", seed}, {"dtype", dtype == torch::kFloat64 ? "float64" : "float32"},
                                  {"energy_weight", energy_weights.energy}, {"force_weight", energy_weights.force},
                                  {"patience", patience}, {"init", initial_model}, {"validation_data", validation_data}}
        .dump();
  nlohmann::ordered_json j{{"steps", steps}, {"lr", learning_rate}, {"warmup", warmup},
                           {"weight_decay", weight_decay}, {"clip", clip_norm},
                           {"atoms_per_batch", atoms_per_batch}, {"validation_fraction", validation_fraction},
                           {"seed", seed}, {"dtype", dtype == torch::kFloat64 ? "float64" : "float32"},
                           {"objective", static_cast<int>(noise.objective)},
                           {"sigma_translation", noise.sigma_translation},
                           {"sigma_rotation", noise.sigma_rotation}};
  if (task == Task::Sipt) {
    j["task"] = "sipt";
    j["sipt"] = nlohmann::json::parse(sipt.to_json());
    j["init"] = initial_model;
    j.erase("atoms_per_batch");
  }
  return j.dump();
}

Trainer::Trainer(const Corpus& corpus, const TrainConfig& config, std::string out, DataParallel* parallel,
                 EPTModel* init, const Corpus* validation, const ConformationGraph* graph)
    : corpus_(corpus), held_(validation ? validation : &corpus), config_(config), out_(std::move(out)), parallel_(parallel), noise_(config.noise),
      command_(config.task == Task::Denoising ? "pretrain" : "finetune"), graph_(graph) {
  config.validate();
  if (config.task == Task::Sipt) {
    if (!graph) throw InputError("finetune --objective sipt needs a graph over the conformations (--graph)");
    if (graph->num_nodes() != static_cast<int64_t>(corpus.entries.size()))
      throw InputError("the graph has " + std::to_string(graph->num_nodes()) + " nodes but there are " +
                       std::to_string(corpus.entries.size()) + " conformations: one node per conformation, in order");
    if (validation)
      throw InputError("finetune --objective sipt: validation data of its own is not supported (the graph's nodes "
                       "are the training data's conformations); use --validation-fraction");
    if (config.sipt.level == DescriptorLevel::Block)
      for (const auto& c : corpus.complexes)
        if (c.num_blocks() != corpus.complexes.front().num_blocks())
          throw InputError("--level block needs conformations of one topology (block rows are concatenated); "
                           "use --level molecule for several molecules");
    config_.sipt.graph = graph->description() + " (" + std::to_string(graph->num_nodes()) + " nodes, " +
                         std::to_string(graph->num_edges()) + " edges)";
  }
  if (config.task == Task::Energy && corpus.labels.empty())
    throw InputError("finetune --objective energy: the data set has no energy and force labels; make one from "
                     "trajectories with `ept label`");
  // Validation by molecule (all conformers together) — in a labelled data set by trajectory, never by frame;
  // in a corpus by group (a Bemis–Murcko scaffold, a protein) — from a hash of the group or the record's source:
  // stable across runs.
  // A record's group (a scaffold, a protein) when it has one: molecules of one group are held out together.
  auto key = [](const MoleculeRecord* r) -> const std::string& { return r->group.empty() ? r->source : r->group; };
  auto share = [&](const MoleculeRecord* r) { return static_cast<double>(fnv1a(key(r)) % 1000000) / 1e6; };
  if (validation) {
    if (validation->labels != corpus.labels && (validation->labels.empty() || corpus.labels.empty() ||
        nlohmann::json::parse(validation->labels).at("energy") != nlohmann::json::parse(corpus.labels).at("energy")))
      throw InputError(command_ + ": the validation data and the training data label different quantities");
    for (size_t k = 0; k < corpus.entries.size(); ++k) train_.push_back(k);
    for (size_t k = 0; k < validation->entries.size(); ++k) validation_.push_back(k);
  } else if (config.task != Task::Denoising) {
    // Whole groups (trajectories, molecules): the round(f·n) group keys with the lowest hashes, at least one and
    // never all of them (a hash threshold alone can hold out none or every one of a few); one group cannot be
    // split by group, so with one (or no validation) every frame trains.
    std::map<std::string, double> keys;
    for (const auto& r : corpus.records) keys[key(&r)] = share(&r);
    std::set<std::string> held_out;
    if (config.validation_fraction > 0 && keys.size() > 1) {
      std::vector<std::pair<double, std::string>> ranked;
      for (const auto& [k, hash] : keys) ranked.emplace_back(hash, k);
      std::stable_sort(ranked.begin(), ranked.end());
      const size_t held = std::clamp<size_t>(static_cast<size_t>(std::lround(config.validation_fraction * ranked.size())),
                                             1, ranked.size() - 1);
      for (size_t k = 0; k < held; ++k) held_out.insert(ranked[k].second);
    }
    for (size_t k = 0; k < corpus.entries.size(); ++k)
      (held_out.count(key(corpus.entries[k].record)) ? validation_ : train_).push_back(k);
  } else {
    for (size_t k = 0; k < corpus.entries.size(); ++k)
      (share(corpus.entries[k].record) < config.validation_fraction || config.validation_fraction == 1 ? validation_
                                                                                                      : train_)
          .push_back(k);
  }
  if (train_.empty() && !config.evaluation_only) throw InputError(command_ + ": the corpus has no training molecules");
  if (config.task == Task::Sipt) {
    // The batch of every step: anchors with a neighbour and a non-neighbour among the training conformations;
    // validation: fixed batches of the held-out ones (at most 8).
    auto nodes = [](const std::vector<size_t>& entries) { return std::vector<int64_t>(entries.begin(), entries.end()); };
    auto as_entries = [](const std::vector<int64_t>& batch) { return std::vector<size_t>(batch.begin(), batch.end()); };
    sampler_ = std::make_unique<SiptSampler>(*graph, nodes(train_), config.sipt.negatives_same_component);
    for (int64_t s = 0; s < config.steps; ++s) {
      std::mt19937_64 rng(mix(config.seed, static_cast<uint64_t>(s)));
      schedule_.push_back(as_entries(sampler_->sample(config.sipt.anchors, rng)));
    }
    if (!validation_.empty()) {
      validation_sampler_ = std::make_unique<SiptSampler>(*graph, nodes(validation_), config.sipt.negatives_same_component);
      const auto count = std::clamp<int64_t>(static_cast<int64_t>(validation_.size()) / (3 * config.sipt.anchors), 1, 8);
      for (int64_t b = 0; b < count; ++b) {
        std::mt19937_64 rng(mix(config.seed, 0xFFFFFFFFull + static_cast<uint64_t>(b)));
        validation_batches_.push_back(as_entries(validation_sampler_->sample(config.sipt.anchors, rng)));
      }
    }
  }
  // The batch of every step: epochs of shuffled entries packed up to the atom budget.
  std::vector<size_t> order;
  size_t position = 0;
  int64_t epoch = -1;
  for (int64_t s = 0; s < config.steps && config.task != Task::Sipt && !train_.empty(); ++s) {
    std::vector<size_t> batch;
    int64_t atoms = 0;
    while (true) {
      if (position == order.size()) {
        if (!batch.empty()) break;  // an epoch ends a batch
        order = train_;
        std::mt19937_64 rng(mix(config.seed, static_cast<uint64_t>(++epoch)));
        std::shuffle(order.begin(), order.end(), rng);
        position = 0;
      }
      const int64_t n = corpus.entries[order[position]].complex->num_atoms();
      if (!batch.empty() && atoms + n > config.atoms_per_batch) break;
      batch.push_back(order[position++]);
      atoms += n;
    }
    schedule_.push_back(std::move(batch));
  }
  torch::manual_seed(config.seed);
  model_ = EPTModel(config.model);
  if (init) {
    if ((*init)->config().to_json() != config.model.to_json())
      throw InputError(command_ + ": the starting model's configuration differs from the run's");
    torch::NoGradGuard no_grad;
    auto target = model_->named_parameters();
    for (const auto& p : (*init)->named_parameters()) target[p.key()].copy_(p.value());
    auto buffers = model_->named_buffers();
    for (const auto& b : (*init)->named_buffers()) buffers[b.key()].copy_(b.value());
  }
  model_->to(config.dtype);
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      model_->parameters(), torch::optim::AdamWOptions(config.learning_rate).weight_decay(config.weight_decay));
}

double Trainer::learning_rate_at(int64_t step) const {
  if (step < config_.warmup) return config_.learning_rate * (step + 1) / static_cast<double>(config_.warmup);
  const double progress = static_cast<double>(step - config_.warmup) / std::max<int64_t>(1, config_.steps - config_.warmup);
  return config_.learning_rate * 0.5 * (1 + std::cos(M_PI * std::min(1.0, progress)));
}

torch::Tensor Trainer::loss_on(EPTModel& model, const std::vector<size_t>& entries, uint64_t noise_seed,
                               bool zero_predictor) {
  return loss_on(corpus_, model, entries, noise_seed, zero_predictor);
}

torch::Tensor Trainer::loss_on(const Corpus& from, EPTModel& model, const std::vector<size_t>& entries,
                               uint64_t noise_seed, bool zero_predictor) {
  if (config_.task == Task::Energy) {
    std::vector<const Complex*> complexes;
    std::vector<std::vector<Vec3>> positions, forces;
    std::vector<double> energies, atoms;
    for (size_t k : entries) {
      const auto& e = from.entries[k];
      complexes.push_back(e.complex);
      positions.push_back(e.record->conformers[e.conformer]);
      forces.push_back(e.record->forces[e.conformer]);
      energies.push_back(e.record->energies[e.conformer]);
      atoms.push_back(static_cast<double>(e.complex->num_atoms()));
    }
    const auto [batch, x] = collate(complexes, positions, model->config().graph_options(), config_.dtype);
    std::vector<Vec3> all_forces;
    for (const auto& f : forces) all_forces.insert(all_forces.end(), f.begin(), f.end());
    const auto target_energy = torch::tensor(energies).to(config_.dtype);
    const auto target_forces = vec3_tensor(all_forces, config_.dtype);
    torch::Tensor energy = torch::zeros_like(target_energy), force = torch::zeros_like(target_forces);
    if (!zero_predictor) std::tie(energy, force) = energy_and_forces(model, batch, x, model->is_training());
    return energy_force_loss(energy, force, target_energy, target_forces, torch::tensor(atoms).to(config_.dtype),
                             model->energy_scale().item<double>(), config_.energy_weights);
  }
  std::vector<Perturbation> perturbations;
  std::vector<const Complex*> complexes;
  std::vector<std::vector<Vec3>> noisy;  // edges are built from the noisy input
  for (size_t k = 0; k < entries.size(); ++k) {
    const auto& e = from.entries[entries[k]];
    std::mt19937_64 rng(mix(noise_seed, entries[k]));
    perturbations.push_back(noise_.perturb(*e.complex, e.record->conformers[e.conformer], rng));
    complexes.push_back(e.complex);
    noisy.push_back(perturbations.back().noisy);
  }
  const auto [batch, x] = collate(complexes, noisy, model->config().graph_options(), config_.dtype);
  std::vector<Vec3> atom_target, translation, rotation;
  std::vector<int64_t> rotatable;
  for (const auto& p : perturbations) {
    atom_target.insert(atom_target.end(), p.atom_target.begin(), p.atom_target.end());
    translation.insert(translation.end(), p.translation_target.begin(), p.translation_target.end());
    rotation.insert(rotation.end(), p.rotation_target.begin(), p.rotation_target.end());
    rotatable.insert(rotatable.end(), p.rotatable.begin(), p.rotatable.end());
  }
  // The zero predictor needs no forward pass, unless SIPT's structure loss reads the embeddings.
  const ModelOutput out = zero_predictor && config_.task != Task::Sipt ? ModelOutput{} : model->forward(batch, x);
  const auto f = zero_predictor ? torch::zeros_like(x) : out.force;
  const DenoisingTargets targets{vec3_tensor(atom_target, config_.dtype), vec3_tensor(translation, config_.dtype),
                                 vec3_tensor(rotation, config_.dtype), torch::tensor(rotatable).to(torch::kBool)};
  const auto denoising = denoising_loss(config_.noise.objective, f, x, batch.atom_block.slice(0, 0, batch.num_real),
                                        batch.num_real_blocks, targets);
  if (config_.task != Task::Sipt) return denoising;
  // SIPT: the structure loss on the embeddings of the same (noisy) conformations, from the same forward pass.
  const auto [positive, negative] = pair_masks(*graph_, std::vector<int64_t>(entries.begin(), entries.end()),
                                               config_.sipt.negatives_same_component);
  const auto structure = structure_loss(config_.sipt, conformation_embeddings(out, batch), positive, negative);
  last_denoising_ = denoising.item<double>();
  last_structure_ = structure.item<double>();
  const double lambda = config_.sipt.lambda;
  return (1 - lambda) * denoising + lambda * structure;
}

torch::Tensor Trainer::conformation_embeddings(const ModelOutput& out, const Batch& batch) const {
  // Molecule: one row per complex; Block: each complex's block rows (one topology, so as many each), concatenated.
  const auto z = descriptors(out, batch, config_.sipt.level, config_.model.vector_eps).reshape({batch.num_complexes, -1});
  // Centred on the batch's mean: what every conformation shares (the molecule's composition) would otherwise
  // dominate cosine similarities and normalised distances, and leave the structure loss almost no gradient.
  // Euclidean distances are unchanged by it.
  return z - z.mean(0, true);
}

std::optional<double> Trainer::validation_loss(EPTModel& model, bool zero_predictor) {
  if (validation_.empty()) return std::nullopt;
  std::optional<torch::NoGradGuard> no_grad;  // the energy task's forces are gradients: it keeps autograd on
  if (config_.task != Task::Energy) no_grad.emplace();
  const bool was_training = model->is_training();
  model->eval();  // energy task: forces without the graph a second backward pass would need
  double total = 0;
  int64_t count = 0;
  if (config_.task == Task::Sipt) {  // fixed triplet batches of held-out conformations; the parts averaged too
    double denoising = 0, structure = 0;
    for (const auto& batch : validation_batches_) {
      total += loss_on(corpus_, model, batch, mix(config_.seed, 0xFFFFFFFFull), zero_predictor).item<double>();
      denoising += last_denoising_;
      structure += last_structure_;
    }
    const double n = static_cast<double>(validation_batches_.size());
    last_denoising_ = denoising / n;
    last_structure_ = structure / n;
    model->train(was_training);
    return total / n;
  }
  for (size_t start = 0; start < validation_.size(); start += 16) {
    const std::vector<size_t> chunk(validation_.begin() + start,
                                    validation_.begin() + std::min(validation_.size(), start + 16));
    total += loss_on(*held_, model, chunk, mix(config_.seed, 0xFFFFFFFFull), zero_predictor).item<double>() * chunk.size();
    count += static_cast<int64_t>(chunk.size());
  }
  model->train(was_training);
  return total / count;
}

void Trainer::save(const std::string& path, bool with_optimizer) {
  // Denoising trains the direct force head; the energy head stays as initialised. Energy finetuning trains the
  // energy head (and the network under it) on labels whose meaning the data set states.
  const bool energy = config_.task == Task::Energy;
  const std::string meaning = energy ? nlohmann::json::parse(corpus_.labels).at("energy").get<std::string>() : "untrained";
  nlohmann::ordered_json meta = {{"label", energy ? "finetuned on energies and forces" : "pretrained by block-level denoising"},
                                 {"trained", true}, {"energy", meaning},
                                 {"step", step_}, {"seed", config_.seed}, {"steps", config_.steps},
                                 {"objective", static_cast<int>(config_.noise.objective)},
                                 {"sigma_translation", config_.noise.sigma_translation},
                                 {"sigma_rotation", config_.noise.sigma_rotation},
                                 {"learning_rate", config_.learning_rate}, {"atoms_per_batch", config_.atoms_per_batch},
                                 {"schedule", nlohmann::json::parse(config_.schedule_json())},
                                 {"corpus", corpus_.fingerprint}};
  if (config_.task == Task::Sipt) {
    meta["label"] = "finetuned by structure-inducing denoising (SIPT)";
    meta["init"] = config_.initial_model;
    meta["sipt"] = nlohmann::json::parse(config_.sipt.to_json());
  }
  if (energy) {
    meta["init"] = config_.initial_model;
    meta["labels"] = nlohmann::json::parse(corpus_.labels);
    meta["best_validation_loss"] = std::isfinite(best_validation_) ? nlohmann::json(best_validation_) : nlohmann::json();
    meta["validations_without_improvement"] = validations_without_improvement_;
    for (const char* key : {"objective", "sigma_translation", "sigma_rotation"}) meta.erase(key);
  }
  if (with_optimizer) {
    torch::serialize::OutputArchive archive;
    optimizer_->save(archive);
    std::ostringstream bytes;
    archive.save_to(bytes);
    meta["optimizer"] = base64_encode(bytes.str());
  }
  save_checkpoint(model_, path, meta.dump());
}

void Trainer::run(bool resume, const std::function<void(const StepReport&)>& report, int64_t stop_after) {
  namespace fs = std::filesystem;
  const bool writer = !parallel_ || parallel_->rank() == 0;
  const std::string checkpoint = (fs::path(out_) / "checkpoint.ept").string();
  const std::string metrics_path = (fs::path(out_) / "metrics.jsonl").string();
  const std::string final_model = (fs::path(out_) / "model.ept").string();
  // Every process checks the folder (a shared file system), so that all of them stop on the same error.
  const bool has_run = fs::exists(checkpoint) || fs::exists(metrics_path) || fs::exists(final_model);
  if (resume && !fs::exists(checkpoint))
    throw InputError(command_ + " --resume: '" + checkpoint + "' does not exist, so there is nothing to resume; " +
                     (has_run ? "the folder holds an unfinished run without a checkpoint: use --overwrite to start it again"
                              : "start a new run without --resume"));
  if (!resume && has_run && !config_.overwrite)
    throw InputError(command_ + ": '" + out_ + "' already holds a run; continue it with --resume, replace it with "
                     "--overwrite, or choose another --out");
  if (parallel_) parallel_->barrier();
  if (writer) {
    fs::create_directories(out_);
    if (!resume && has_run)  // --overwrite: nothing of the old run may be mistaken for the new one
      for (const auto& path : {checkpoint, metrics_path, final_model}) fs::remove(path);
  }
  if (parallel_) parallel_->barrier();
  if (resume) {
    CheckpointInfo info;
    EPTModel loaded = load_checkpoint(checkpoint, &info);
    if (info.config.to_json() != config_.model.to_json())
      throw InputError(command_ + " --resume: '" + checkpoint + "' was trained with another model configuration");
    const auto meta = nlohmann::json::parse(info.metadata);
    if (meta.contains("corpus") && meta["corpus"] != corpus_.fingerprint)
      throw InputError(command_ + " --resume: '" + checkpoint + "' was trained on another corpus (fingerprint " +
                       meta["corpus"].get<std::string>() + ", this one " + corpus_.fingerprint +
                       "); resume with the corpus it was trained on, or start a new run");
    if (meta.contains("schedule")) {
      const auto now = nlohmann::json::parse(config_.schedule_json());
      std::string differences;
      for (const auto& [key, value] : now.items())
        if (!meta["schedule"].contains(key) || meta["schedule"][key] != value)
          differences += (differences.empty() ? "" : ", ") + key + " " +
                         (meta["schedule"].contains(key) ? meta["schedule"][key].dump() : "?") + " → " + value.dump();
      if (!differences.empty())
        throw InputError(command_ + " --resume: the options differ from those of the run in '" + out_ + "' (" +
                         differences + "); a resumed run takes the same steps only with the same options");
    }
    {
      torch::NoGradGuard no_grad;
      auto target = model_->named_parameters();
      for (const auto& p : loaded->named_parameters()) target[p.key()].copy_(p.value());
      auto buffers = model_->named_buffers();
      for (const auto& b : loaded->named_buffers()) buffers[b.key()].copy_(b.value());
    }
    if (meta.contains("best_validation_loss") && meta["best_validation_loss"].is_number())
      best_validation_ = meta["best_validation_loss"].get<double>();
    validations_without_improvement_ = meta.value("validations_without_improvement", int64_t{0});
    torch::serialize::InputArchive archive;
    std::istringstream bytes(base64_decode(meta.at("optimizer").get<std::string>()));
    archive.load_from(bytes);
    optimizer_->load(archive);
    step_ = meta.at("step").get<int64_t>();
    // Keep the metrics of the steps the checkpoint contains.
    if (writer) {
      std::ifstream in(metrics_path);
      std::string line, kept;
      while (std::getline(in, line))
        if (!line.empty() && nlohmann::json::parse(line).at("step").get<int64_t>() <= step_) kept += line + "\n";
      std::ofstream(metrics_path, std::ios::trunc) << kept;
    }
  } else {
    if (config_.task == Task::Energy) {
      // The labels' per-element offsets and force scale, fitted on the training trajectories before any step;
      // the network then learns what composition alone does not explain.
      torch::NoGradGuard no_grad;
      model_->energy_offset().copy_(fit_energy_offsets(corpus_, train_));
      model_->energy_scale().fill_(force_rms(corpus_, train_));
    }
  }
  if (!resume && writer) {
    // Step 0: the untrained model and the zero predictor, the baselines every later validation compares with.
    nlohmann::ordered_json line = {{"step", 0}};
    if (const auto v = validation_loss(model_)) {
      line["validation_loss"] = *v;
      if (config_.task == Task::Sipt) {
        line["validation_denoising_loss"] = last_denoising_;
        line["validation_structure_loss"] = last_structure_;
      }
      line["zero_predictor_validation_loss"] = *validation_loss(model_, true);
      if (config_.task == Task::Energy) {
        const auto start = energy_errors(&model_, *held_, validation_), zero = energy_errors(nullptr, *held_, validation_);
        line["validation_energy_rmse"] = start.energy_rmse;
        line["validation_energy_mae"] = start.energy_mae;
        line["validation_energy_mae_mean_removed"] = start.energy_mae_mean_removed;
        line["validation_force_rmse"] = start.force_rmse;
        line["validation_force_mae"] = start.force_mae;
        line["zero_predictor_energy_mae"] = zero.energy_mae;
        line["zero_predictor_energy_mae_mean_removed"] = zero.energy_mae_mean_removed;
        line["zero_predictor_force_mae"] = zero.force_mae;
      }
    } else {
      line["validation"] = "none (--validation-fraction 0)";
    }
    std::ofstream(metrics_path, std::ios::trunc) << line.dump() << "\n";
  }
  if (parallel_) parallel_->broadcast(model_->parameters());  // every process starts from rank 0's weights
  std::ofstream metrics;
  if (writer) metrics.open(metrics_path, std::ios::app);
  model_->train();
  while (step_ < config_.steps &&
         !(config_.patience > 0 && validations_without_improvement_ >= config_.patience)) {
    const auto& entries = schedule_[step_];
    const double lr = learning_rate_at(step_);
    for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    optimizer_->zero_grad();
    // This process's share of the batch (all of it on one process).
    std::vector<size_t> mine;
    for (size_t k = 0; k < entries.size(); ++k)
      if (!parallel_ || static_cast<int>((config_.task == Task::Sipt ? k / 3 : k) % parallel_->world_size()) ==
                            parallel_->rank())  // SIPT: whole triplets, so that each process has its pairs
        mine.push_back(entries[k]);
    double loss_value = 0;
    StepReport r;
    if (!mine.empty()) {
      const auto loss = loss_on(model_, mine, mix(config_.seed, static_cast<uint64_t>(step_) + 1), false);
      loss.backward();
      loss_value = loss.item<double>();
      if (config_.task == Task::Sipt) {
        r.denoising_loss = last_denoising_;
        r.structure_loss = last_structure_;
      }
    }
    if (parallel_) {
      parallel_->average_gradients(model_->parameters());
      loss_value = parallel_->sum(loss_value) / parallel_->world_size();
    }
    const double norm = torch::nn::utils::clip_grad_norm_(model_->parameters(), config_.clip_norm);
    if (!std::isfinite(loss_value) || !std::isfinite(norm))
      throw Error(command_ + ": the run diverged at step " + std::to_string(step_ + 1) + " (loss " +
                  finite_text(loss_value) + ", gradient norm " + finite_text(norm) + ", learning rate " +
                  std::to_string(lr) + "); the step was not taken and nothing was written. Lower --lr, or check "
                  "the corpus; the last checkpoint in '" + out_ + "' is intact (--resume continues from it)");
    optimizer_->step();
    ++step_;
    r.step = step_;
    r.loss = loss_value;
    r.learning_rate = lr;
    r.gradient_norm = norm;
    for (size_t k : entries) r.atoms += corpus_.entries[k].complex->num_atoms();
    if (writer && (step_ % config_.validate_every == 0 || step_ == config_.steps)) {
      r.validation_loss = validation_loss(model_);
      if (config_.task == Task::Sipt && r.validation_loss) {
        r.validation_denoising_loss = last_denoising_;
        r.validation_structure_loss = last_structure_;
      }
      if (config_.task == Task::Energy && r.validation_loss) {
        r.validation_errors = energy_errors(&model_, *held_, validation_);
        model_->train();
        // model.ept holds the best weights so far; patience ends the run when they stop improving.
        if (*r.validation_loss < best_validation_) {
          best_validation_ = *r.validation_loss;
          validations_without_improvement_ = 0;
          save(final_model, false);
        } else if (config_.patience > 0 && ++validations_without_improvement_ >= config_.patience) {
          r.stopped_early = true;
        }
      }
    }
    if (!writer) {
      if (report) report(r);
      if (step_ == stop_after) return;
      continue;
    }
    nlohmann::ordered_json line = {{"step", r.step}, {"loss", r.loss}, {"lr", r.learning_rate},
                                   {"grad_norm", r.gradient_norm}, {"atoms", r.atoms}};
    if (r.denoising_loss) line["denoising_loss"] = *r.denoising_loss;
    if (r.structure_loss) line["structure_loss"] = *r.structure_loss;
    if (r.validation_loss) line["validation_loss"] = *r.validation_loss;
    if (r.validation_denoising_loss) line["validation_denoising_loss"] = *r.validation_denoising_loss;
    if (r.validation_structure_loss) line["validation_structure_loss"] = *r.validation_structure_loss;
    if (r.validation_errors) {
      const EnergyErrors& v = *r.validation_errors;
      for (auto [name, value] : {std::pair{"energy_rmse", v.energy_rmse}, {"energy_mae", v.energy_mae},
                                 {"energy_mae_mean_removed", v.energy_mae_mean_removed}, {"force_rmse", v.force_rmse},
                                 {"force_mae", v.force_mae}})
        line[std::string("validation_") + name] = value;
    }
    if (r.stopped_early) line["stopped"] = "no improvement in " + std::to_string(config_.patience) + " validations";
    metrics << line.dump() << "\n" << std::flush;
    if (step_ % config_.checkpoint_every == 0 || step_ == config_.steps || r.stopped_early) save(checkpoint, true);
    if (report) report(r);
    if (step_ == stop_after || r.stopped_early) return;
  }
  if (!writer) return;
  // With a validation set the energy task has kept its best weights in model.ept already.
  if (config_.task != Task::Energy || validation_.empty()) save(final_model, false);
}

}  // namespace ept
