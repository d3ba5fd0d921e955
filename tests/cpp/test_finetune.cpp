// Energy finetuning: the energy+force loss's parameter gradient (through the double backward) against finite
// differences, the per-element offsets as a least-squares solution, and a labelled run that learns, resumes bitwise
// and stores what its energy means.
#include <gtest/gtest.h>

#include <set>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "ept/model/checkpoint.h"
#include "ept/data/dataset.h"
#include "ept/data/elements.h"
#include "ept/error.h"
#include "ept/model/evaluator.h"
#include "ept/training/finetune.h"
#include "ept/training/trainer.h"
#include "ept/data/vocabulary.h"
#include "test_support.h"

namespace ept {
namespace {

namespace fs = std::filesystem;

ModelConfig tiny_config() {
  ModelConfig c;
  c.hidden = 8;
  c.ffn = 16;
  c.heads = 2;
  c.layers = 1;
  c.radial = 4;
  c.edge_dim = 4;
  return c;
}

/// The pretraining fixture's molecules, labelled with a teacher network's energies and forces (total energies).
Corpus labelled_corpus(uint64_t teacher_seed = 11) {
  const Corpus source = Corpus::load(test::fixture("corpus"));
  Corpus c;
  c.records = source.records;
  c.labels = R"({"energy":"total","method":"teacher network"})";
  c.fingerprint = "test";
  for (const auto& r : c.records) c.complexes.push_back(build_complex(r.table));
  torch::manual_seed(teacher_seed);
  EPTModel teacher(tiny_config());
  teacher->to(torch::kFloat64);
  teacher->energy_scale().fill_(20.0);
  for (size_t k = 0; k < c.records.size(); ++k) {
    auto& r = c.records[k];
    for (const auto& x : r.conformers) {
      const auto [batch, positions] = collate({&c.complexes[k]}, {x}, teacher->config().graph_options(), torch::kFloat64);
      const auto [e, f] = energy_and_forces(teacher, batch, positions, false);
      r.energies.push_back(e[0].item<double>() + 100.0 * static_cast<double>(x.size()));  // an offset per atom
      std::vector<Vec3> forces(x.size());
      for (size_t i = 0; i < x.size(); ++i)
        for (int d = 0; d < 3; ++d) forces[i][d] = f[static_cast<int64_t>(i)][d].item<double>();
      r.forces.push_back(forces);
    }
  }
  for (size_t k = 0; k < c.records.size(); ++k)
    for (size_t j = 0; j < c.records[k].conformers.size(); ++j) c.entries.push_back({&c.records[k], &c.complexes[k], j});
  return c;
}

TEST(Finetune, EnergyForceLossGradientMatchesFiniteDifferences) {
  const Corpus corpus = labelled_corpus();
  torch::manual_seed(5);
  EPTModel model(tiny_config());
  model->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;
    model->energy_scale().fill_(3.0);
    model->energy_offset().uniform_(-2, 2);
  }
  std::vector<const Complex*> complexes;
  std::vector<std::vector<Vec3>> positions;
  std::vector<Vec3> target_forces;
  std::vector<double> energies, atoms;
  for (size_t k : {0, 3}) {
    const auto& e = corpus.entries[k];
    complexes.push_back(e.complex);
    positions.push_back(e.record->conformers[e.conformer]);
    energies.push_back(e.record->energies[e.conformer]);
    atoms.push_back(static_cast<double>(e.complex->num_atoms()));
    target_forces.insert(target_forces.end(), e.record->forces[e.conformer].begin(), e.record->forces[e.conformer].end());
  }
  const auto [batch, x] = collate(complexes, positions, model->config().graph_options(), torch::kFloat64);
  const auto target_e = torch::tensor(energies, torch::kFloat64), target_f = test::to_tensor(target_forces);
  const auto n = torch::tensor(atoms, torch::kFloat64);
  const EnergyLossWeights weights{0.7, 1.3};
  auto loss = [&] {
    const auto [e, f] = energy_and_forces(model, batch, x, true);
    return energy_force_loss(e, f, target_e, target_f, n, 3.0, weights);
  };
  model->zero_grad();
  loss().backward();
  std::mt19937_64 rng(2);
  int checked = 0;
  for (const auto& p : model->named_parameters()) {
    auto& value = p.value();
    if (!value.grad().defined()) continue;
    const int64_t index = static_cast<int64_t>(rng() % static_cast<uint64_t>(value.numel()));
    const double analytic = value.grad().view(-1)[index].item<double>();
    const double h = 1e-5;
    double numeric;
    {
      torch::NoGradGuard no_grad;
      auto flat = value.view(-1);
      const double original = flat[index].item<double>();
      flat[index] = original + h;
      const double up = loss().item<double>();
      flat[index] = original - h;
      const double down = loss().item<double>();
      flat[index] = original;
      numeric = (up - down) / (2 * h);
    }
    EXPECT_NEAR(analytic, numeric, 1e-6 + 1e-5 * std::abs(numeric)) << p.key() << "[" << index << "]";
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST(Finetune, EnergyOffsetsSolveTheLeastSquaresProblem) {
  Corpus corpus = labelled_corpus();
  std::vector<size_t> all(corpus.entries.size());
  for (size_t k = 0; k < all.size(); ++k) all[k] = k;
  // Energies that composition explains exactly: the fit reproduces every one of them.
  const std::map<int, double> per_element = {{1, -3.5}, {6, -101.25}, {7, -140.0}, {8, -190.5}, {9, -230.0},
                                             {15, -300.0}, {16, -320.0}, {17, -350.0}, {35, -400.0}, {53, -450.0}};
  for (auto& r : corpus.records)
    for (auto& e : r.energies) {
      e = 0;
      for (int z : r.table.atomic_numbers) e += per_element.count(z) ? per_element.at(z) : -77.0;
    }
  auto offsets = fit_energy_offsets(corpus, all);
  ASSERT_EQ(offsets.size(0), vocab::kNumAtomTypes);
  double worst = 0;
  for (size_t k : all) {
    const auto& e = corpus.entries[k];
    double predicted = 0;
    for (int64_t t : e.complex->atom_type) predicted += offsets[t].item<double>();
    worst = std::max(worst, std::abs(predicted - e.record->energies[e.conformer]));
  }
  EXPECT_LT(worst, 1e-6);
  EXPECT_EQ(offsets[vocab::atom_type(92)].item<double>(), 0.0) << "uranium never occurs: minimum norm gives 0";
  // With energies composition cannot explain, the residual is orthogonal to every count column (normal equations).
  const Corpus unexplained = labelled_corpus();
  offsets = fit_energy_offsets(unexplained, all);
  std::vector<double> normal(vocab::kNumAtomTypes, 0.0);
  double scale = 0;
  for (size_t k : all) {
    const auto& e = unexplained.entries[k];
    double predicted = 0;
    for (int64_t t : e.complex->atom_type) predicted += offsets[t].item<double>();
    const double residual = predicted - e.record->energies[e.conformer];
    for (int64_t t : e.complex->atom_type) normal[t] += residual;
    scale = std::max(scale, std::abs(e.record->energies[e.conformer]));
  }
  for (int64_t t = 0; t < vocab::kNumAtomTypes; ++t) EXPECT_NEAR(normal[t], 0.0, 1e-8 * scale * all.size()) << t;
}

TEST(Finetune, EnergyOffsetsAreTheIsolatedAtomEnergiesPlusOneShiftPerAtom) {
  Corpus corpus = labelled_corpus();
  std::vector<size_t> all(corpus.entries.size());
  for (size_t k = 0; k < all.size(); ++k) all[k] = k;
  std::set<int> present;
  for (const auto& r : corpus.records) present.insert(r.table.atomic_numbers.begin(), r.table.atomic_numbers.end());
  std::string e0 = "{";
  for (int z : present) e0 += (e0.size() > 1 ? ", \"" : "\"") + elements::symbol(z) + "\": " + std::to_string(-10.5 * z);
  corpus.labels = "{\"energy\": \"total\", \"e0\": " + e0 + "}}";
  // The shift: the mean over frames of (E − Σ E0) / N, computed here on its own.
  double shift = 0;
  for (size_t k : all) {
    const auto& e = corpus.entries[k];
    double reference = 0;
    for (int z : e.record->table.atomic_numbers) reference += -10.5 * z;
    shift += (e.record->energies[e.conformer] - reference) / e.record->table.size() / all.size();
  }
  const auto offsets = fit_energy_offsets(corpus, all);
  for (int z : present) EXPECT_NEAR(offsets[vocab::atom_type(z)].item<double>(), -10.5 * z + shift, 1e-9) << z;
  EXPECT_EQ(offsets[vocab::atom_type(92)].item<double>(), 0.0);
  EXPECT_GT(std::abs(shift), 1e-3) << "a shift of 0 would not test it";
}

TEST(Finetune, LabelledRunLearnsResumesBitwiseAndSaysWhatItsEnergyIs) {
  torch::set_num_threads(1);
  const Corpus corpus = labelled_corpus();
  TrainConfig c;
  c.task = Task::Energy;
  c.model = tiny_config();
  c.steps = 40;
  c.warmup = 2;
  c.learning_rate = 3e-3;
  c.atoms_per_batch = 100;
  c.validation_fraction = 0.25;
  c.validate_every = 20;
  c.checkpoint_every = 10;
  c.dtype = torch::kFloat64;
  const auto root = fs::temp_directory_path() / ("ept-finetune-" + std::to_string(::getpid()));
  fs::remove_all(root);
  Trainer straight(corpus, c, (root / "straight").string());
  ASSERT_FALSE(straight.validation_entries().empty());
  const double before = *straight.validation_loss(straight.model());
  straight.run(false);
  {
    Trainer interrupted(corpus, c, (root / "interrupted").string());
    interrupted.run(false, {}, /*stop_after=*/15);  // the last checkpoint is step 10
  }
  Trainer resumed(corpus, c, (root / "interrupted").string());
  resumed.run(true);
  auto a = straight.model()->named_parameters(), b = resumed.model()->named_parameters();
  for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
  EXPECT_TRUE(torch::equal(straight.model()->energy_offset(), resumed.model()->energy_offset()));
  // After the offsets are fitted (they make the step-0 loss small already), training lowers it further.
  EXPECT_LT(*straight.validation_loss(straight.model()), before);
  CheckpointInfo info;
  EPTModel saved = load_checkpoint((root / "straight" / "model.ept").string(), &info);
  EXPECT_EQ(info.energy, "total");
  EXPECT_DOUBLE_EQ(saved->energy_scale().item<double>(), force_rms(corpus, straight.training_entries()))
      << "the scale is the training labels' force RMS";
  EXPECT_NE(saved->energy_offset()[vocab::atom_type(6)].item<double>(), 0.0);
  fs::remove_all(root);
}

TEST(Finetune, EnergyTaskRefusesACorpusWithoutLabels) {
  const Corpus corpus = Corpus::load(test::fixture("corpus"));
  TrainConfig c;
  c.task = Task::Energy;
  c.model = tiny_config();
  try {
    Trainer t(corpus, c, "unused");
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("ept label"), std::string::npos) << e.what();
  }
}

TEST(Finetune, CheckpointsKeepOffsetsAndScaleAndOlderFilesLoadWithout) {
  torch::manual_seed(1);
  EPTModel model(tiny_config());
  {
    torch::NoGradGuard no_grad;
    model->energy_offset().uniform_(-5, 5);
    model->energy_scale().fill_(42.0);
  }
  EPTModel back = load_checkpoint_bytes(checkpoint_bytes(model), "round trip");
  EXPECT_TRUE(torch::equal(back->energy_offset(), model->energy_offset()));
  EXPECT_EQ(back->energy_scale().item<double>(), 42.0);
  // The shipped model was written before the buffers existed: no offsets, scale 1.
  EPTModel shipped = load_checkpoint(test::fixture("../../pretrain/models/ept-small/model.ept"));
  EXPECT_EQ(shipped->energy_offset().abs().sum().item<double>(), 0.0);
  EXPECT_EQ(shipped->energy_scale().item<double>(), 1.0);
}

}  // namespace
}  // namespace ept
