// Pretraining: a few steps reduce the validation loss, and a resumed run is bitwise the uninterrupted one.
#include <gtest/gtest.h>

#include <filesystem>

#include "ept/checkpoint.h"
#include "ept/dataset.h"
#include "ept/error.h"
#include "ept/trainer.h"
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

fs::path temporary(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("ept-trainer-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(dir);
  return dir;
}

TEST(Trainer, CorpusFixtureLoadsWithItsChecksums) {
  const Corpus corpus = Corpus::load(test::fixture("corpus"));
  EXPECT_GE(corpus.records.size(), 10u);
  EXPECT_EQ(corpus.entries.size(), 2 * corpus.records.size());  // two conformers each
  for (const auto& e : corpus.entries) EXPECT_EQ(e.record->conformers[e.conformer].size(), e.record->table.size());
  EXPECT_THROW(Corpus::load(test::fixture("")), InputError);  // no manifest
}

TEST(Trainer, AFewStepsReduceTheValidationLoss) {
  const Corpus corpus = Corpus::load(test::fixture("corpus"));
  TrainConfig c = small_config();
  c.steps = 150;
  c.learning_rate = 5e-3;
  const auto dir = temporary("loss");
  Trainer trainer(corpus, c, dir.string());
  const double before = trainer.validation_loss(trainer.model());
  const double zero = trainer.validation_loss(trainer.model(), /*zero_predictor=*/true);
  trainer.run(false);
  const double after = trainer.validation_loss(trainer.model());
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
  const Corpus corpus = Corpus::load(test::fixture("corpus"));
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

}  // namespace
}  // namespace ept
