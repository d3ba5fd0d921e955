// Pretraining: a few steps reduce the validation loss, and a resumed run is bitwise the uninterrupted one.
#include <gtest/gtest.h>

#include <set>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "ept/model/checkpoint.h"
#include "ept/data/checksum.h"
#include "ept/data/dataset.h"
#include "ept/error.h"
#include "ept/training/trainer.h"
#include "test_support.h"

namespace ept {
namespace {

namespace fs = std::filesystem;

TrainConfig small_config() {
  TrainConfig c;
  c.model.hidden = 16;
  c.model.ffn = 32;
  c.model.heads = 2;
  c.model.layers = 2;
  c.model.radial = 8;
  c.model.edge_dim = 8;
  c.atoms_per_batch = 120;
  c.validation_fraction = 0.25;
  c.warmup = 5;
  c.learning_rate = 3e-3;
  c.validate_every = 1000;
  c.seed = 3;
  return c;
}

/// The test corpus, read once for all tests.
const Corpus& fixture_corpus() {
  static const Corpus corpus = Corpus::load(test::fixture("corpus"));
  return corpus;
}

fs::path temporary(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("ept-trainer-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(dir);
  return dir;
}

TEST(Trainer, CorpusFixtureLoadsWithItsChecksums) {
  const Corpus& corpus = fixture_corpus();
  EXPECT_GE(corpus.records.size(), 10u);
  EXPECT_EQ(corpus.entries.size(), 2 * corpus.records.size());  // two conformers each
  for (const auto& e : corpus.entries) EXPECT_EQ(e.record->conformers[e.conformer].size(), e.record->table.size());
  EXPECT_THROW(Corpus::load(test::fixture("")), InputError);  // no manifest
}

TEST(Trainer, AFewStepsReduceTheValidationLoss) {
  const Corpus& corpus = fixture_corpus();
  TrainConfig c = small_config();
  c.steps = 400;  // 150 steps left the model level with the zero predictor on some CPUs
  c.learning_rate = 5e-3;
  const auto dir = temporary("loss");
  Trainer trainer(corpus, c, dir.string());
  const double before = *trainer.validation_loss(trainer.model());
  const double zero = *trainer.validation_loss(trainer.model(), /*zero_predictor=*/true);
  trainer.run(false);
  const double after = *trainer.validation_loss(trainer.model());
  std::cout << "[ figure ] validation loss: zero predictor " << zero << ", initial " << before << ", after "
            << c.steps << " steps " << after << "\n";
  // Noise of the validation set is fixed, so these comparisons are deterministic.
  EXPECT_LT(after, before - 0.02);
  EXPECT_LT(after, zero) << "the model must do better than predicting no displacement";
  EXPECT_TRUE(fs::exists(dir / "model.ept"));
  EXPECT_TRUE(fs::exists(dir / "metrics.jsonl"));
  load_checkpoint((dir / "model.ept").string());  // a valid model file
  fs::remove_all(dir);
}

TEST(Trainer, ResumedRunIsBitwiseTheUninterruptedRun) {
  torch::set_num_threads(1);
  const Corpus& corpus = fixture_corpus();
  TrainConfig c = small_config();
  c.steps = 12;
  c.checkpoint_every = 4;
  c.dtype = torch::kFloat64;
  const auto straight = temporary("straight"), interrupted = temporary("interrupted");
  Trainer a(corpus, c, straight.string());
  a.run(false);
  {
    Trainer b(corpus, c, interrupted.string());
    b.run(false, {}, /*stop_after=*/6);  // stops after step 6; the last checkpoint is step 4
  }
  Trainer resumed(corpus, c, interrupted.string());
  resumed.run(true);
  EXPECT_EQ(resumed.step(), 12);
  auto pa = a.model()->named_parameters(), pb = resumed.model()->named_parameters();
  for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  EXPECT_TRUE(torch::any(pa.begin()->value() != Trainer(corpus, c, temporary("fresh").string()).model()->named_parameters().begin()->value()).item<bool>())
      << "training changed the parameters";
  fs::remove_all(straight);
  fs::remove_all(interrupted);
  fs::remove_all(temporary("fresh"));
}

template <typename F>
void expect_input_error(F&& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << part << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Trainer, OptionsThatCannotTrainAreNamed) {
  const Corpus& corpus = fixture_corpus();
  const auto dir = temporary("options").string();
  auto with = [&](auto change) {
    TrainConfig c = small_config();
    change(c);
    return [&corpus, &dir, c] { Trainer(corpus, c, dir); };
  };
  expect_input_error(with([](TrainConfig& c) { c.learning_rate = -1; }), "--lr must be a finite number > 0, got -1");
  expect_input_error(with([](TrainConfig& c) { c.learning_rate = std::nan(""); }), "--lr must be a finite number > 0, got NaN");
  expect_input_error(with([](TrainConfig& c) { c.weight_decay = -5; }), "--weight-decay");
  expect_input_error(with([](TrainConfig& c) { c.clip_norm = 0; }), "--clip");
  expect_input_error(with([](TrainConfig& c) { c.clip_norm = -1; }), "--clip");
  expect_input_error(with([](TrainConfig& c) { c.warmup = -1; }), "--warmup");
  expect_input_error(with([](TrainConfig& c) { c.validation_fraction = 1; }), "--validation-fraction");
}

TEST(Trainer, ADivergingRunStopsWithANamedErrorAndWritesNoBrokenModel) {
  const Corpus& corpus = fixture_corpus();
  TrainConfig c = small_config();
  c.steps = 20;
  c.warmup = 0;
  c.learning_rate = 1e9;
  c.checkpoint_every = 1;
  const auto dir = temporary("diverge");
  Trainer trainer(corpus, c, dir.string());
  expect_input_error([&] { trainer.run(false); }, "diverged at step");
  EXPECT_FALSE(fs::exists(dir / "model.ept"));
  // Whatever checkpoint exists was written before the divergence, and loads.
  if (fs::exists(dir / "checkpoint.ept")) load_checkpoint((dir / "checkpoint.ept").string());
  // A model with a NaN weight is never written, and a file holding one does not load.
  EPTModel broken = test::small_model();
  {
    torch::NoGradGuard no_grad;
    broken->parameters()[3].view(-1)[0] = std::nan("");
  }
  expect_input_error([&] { save_checkpoint(broken, (dir / "nan.ept").string(), "{}"); }, "holds NaN or inf");
  EXPECT_FALSE(fs::exists(dir / "nan.ept"));
  // A file with a NaN weight and a valid checksum (as another writer could make) is refused on loading.
  EPTModel good = test::small_model();
  std::string bytes = checkpoint_bytes(good, "{}");
  const double nan = std::nan("");
  std::memcpy(bytes.data() + bytes.size() - sizeof(uint32_t) - sizeof(double), &nan, sizeof(double));
  const uint32_t crc = crc32_of(bytes, bytes.size() - sizeof(uint32_t));
  std::memcpy(bytes.data() + bytes.size() - sizeof(uint32_t), &crc, sizeof(uint32_t));
  expect_input_error([&] { load_checkpoint_bytes(bytes, "nan.ept"); }, "holds NaN or inf");
  fs::remove_all(dir);
}

TEST(Trainer, RunFoldersAreNotOverwrittenOrResumedByMistake) {
  const Corpus& corpus = fixture_corpus();
  TrainConfig c = small_config();
  c.steps = 4;
  c.checkpoint_every = 2;
  const auto dir = temporary("folders");
  expect_input_error([&] { Trainer(corpus, c, dir.string()).run(true); }, "nothing to resume");
  Trainer(corpus, c, dir.string()).run(false);
  const auto before = fs::last_write_time(dir / "model.ept");
  expect_input_error([&] { Trainer(corpus, c, dir.string()).run(false); }, "--resume, replace it with --overwrite");
  EXPECT_EQ(fs::last_write_time(dir / "model.ept"), before);
  TrainConfig other = c;
  other.learning_rate = 1e-4;
  expect_input_error([&] { Trainer(corpus, other, dir.string()).run(true); }, "lr 0.003 → 0.0001");
  TrainConfig replace = c;
  replace.overwrite = true;
  Trainer(corpus, replace, dir.string()).run(false);
  EXPECT_TRUE(fs::exists(dir / "model.ept"));
  fs::remove_all(dir);
}

TEST(Trainer, NoValidationSetMeansNoValidationLoss) {
  const Corpus& corpus = fixture_corpus();
  TrainConfig c = small_config();
  c.steps = 2;
  c.validation_fraction = 0;
  const auto dir = temporary("novalidation");
  Trainer trainer(corpus, c, dir.string());
  EXPECT_FALSE(trainer.validation_loss(trainer.model()).has_value());
  bool reported = false;
  trainer.run(false, [&](const StepReport& r) { reported = reported || r.validation_loss.has_value(); });
  EXPECT_FALSE(reported);
  std::ifstream metrics(dir / "metrics.jsonl");
  std::string first;
  std::getline(metrics, first);
  EXPECT_NE(first.find("none (--validation-fraction 0)"), std::string::npos) << first;
  EXPECT_EQ(first.find("null"), std::string::npos) << first;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ept

namespace ept {
namespace {

TEST(Trainer, ValidationHoldsOutWholeGroupsNeverPartOfOne) {
  // 48 records of the fixture's molecules in 6 groups (scaffolds, say): each group lies wholly on one side.
  std::vector<MoleculeRecord> records;
  for (int k = 0; k < 48; ++k) {
    MoleculeRecord r = fixture_corpus().records[k % fixture_corpus().records.size()];
    r.source = "molecule " + std::to_string(k);
    r.group = "scaffold:" + std::to_string(k % 6);
    records.push_back(std::move(r));
  }
  // Both ways of splitting: the hash threshold of pretraining and the ranked groups of finetuning (energy labels).
  for (const Task task : {Task::Denoising, Task::Energy}) {
    std::vector<MoleculeRecord> copies = records;
    for (auto& r : copies) {
      r.energies.assign(r.conformers.size(), -1.0);
      r.forces.assign(r.conformers.size(), std::vector<Vec3>(r.table.size(), Vec3{0, 0, 0}));
    }
    const Corpus corpus = Corpus::from_records(std::move(copies), "grouped", R"({"energy": "total"})");
    TrainConfig c = small_config();
    c.task = task;
    c.steps = 1;
    c.validation_fraction = 0.5;
    Trainer trainer(corpus, c, temporary("groups").string());
    std::set<std::string> trained, held;
    for (size_t k : trainer.training_entries()) trained.insert(corpus.entries[k].record->group);
    for (size_t k : trainer.validation_entries()) held.insert(corpus.entries[k].record->group);
    EXPECT_FALSE(trained.empty());
    EXPECT_FALSE(held.empty());
    for (const auto& g : held) EXPECT_EQ(trained.count(g), 0u) << g << " is on both sides";
    EXPECT_EQ(trained.size() + held.size(), 6u);
  }
}

}  // namespace
}  // namespace ept
