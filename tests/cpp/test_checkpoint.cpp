// Checkpoints: bit-for-bit round trips, atomic writes, and a named error for every kind of bad file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ept/data/atomic_file.h"
#include "ept/model/batch.h"
#include "ept/model/checkpoint.h"
#include "ept/error.h"
#include "test_support.h"

namespace ept {
namespace {

namespace fs = std::filesystem;

class Checkpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ept-checkpoint-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

ModelOutput run(EPTModel& model, torch::Dtype dtype) {
  const Structure s = structure_from_smiles("CC(=O)NC");
  const Complex c = build_complex(s.table);
  const Graph g = build_graph(c, s.positions, model->config().graph_options());
  return model->forward(make_batch({&c}, {&g}, dtype), test::to_tensor(s.positions).to(dtype));
}

void expect_error(const std::string& file, const std::string& bytes, CheckpointError::Kind kind) {
  write_file_atomically(file, bytes);
  try {
    load_checkpoint(file);
    FAIL() << "no error for a " << to_string(kind) << " file";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << "the message names the file: " << e.what();
  }
}

TEST_F(Checkpoint, RoundTripReproducesOutputsBitForBit) {
  for (const auto dtype : {torch::kFloat32, torch::kFloat64}) {
    EPTModel model = test::small_model();
    model->to(dtype);
    const std::string file = path("model.ept");
    save_checkpoint(model, file, R"({"label":"test"})");
    CheckpointInfo info;
    EPTModel loaded = load_checkpoint(file, &info);
    EXPECT_EQ(info.dtype, dtype);
    EXPECT_EQ(info.config.to_json(), model->config().to_json());
    EXPECT_EQ(info.metadata, R"({"label":"test"})");
    const ModelOutput a = run(model, dtype), b = run(loaded, dtype);
    EXPECT_TRUE(torch::equal(a.energy, b.energy));
    EXPECT_TRUE(torch::equal(a.force, b.force));
    EXPECT_TRUE(torch::equal(a.scalars, b.scalars));
    // Saving the loaded model gives the same bytes.
    EXPECT_EQ(checkpoint_bytes(loaded, info.metadata), read_file(file));
  }
  // No temporary file is left beside the checkpoint.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(Checkpoint, EachBadFileGivesItsNamedError) {
  EPTModel model = test::small_model();
  const std::string good = checkpoint_bytes(model);
  const std::string file = path("bad.ept");
  EXPECT_THROW(
      {
        try {
          load_checkpoint(path("absent.ept"));
        } catch (const CheckpointError& e) {
          EXPECT_EQ(e.kind(), CheckpointError::Kind::Missing);
          throw;
        }
      },
      CheckpointError);
  expect_error(file, "REMARK this is a PDB file\n", CheckpointError::Kind::Foreign);
  expect_error(file, "", CheckpointError::Kind::Foreign);
  // Cut anywhere: in the preamble, the header, the weights, the checksum.
  for (size_t cut : {size_t{5}, size_t{15}, size_t{40}, good.size() / 2, good.size() - 1})
    expect_error(file, good.substr(0, cut), CheckpointError::Kind::Truncated);
  std::string flipped = good;
  flipped[good.size() - 100] ^= 0x10;  // a weight
  expect_error(file, flipped, CheckpointError::Kind::Corrupt);
  expect_error(file, good + "x", CheckpointError::Kind::Corrupt);
  std::string version = good;
  version[8] = 9;  // format version field
  expect_error(file, version, CheckpointError::Kind::WrongVersion);
}

TEST_F(Checkpoint, SaveIntoMissingDirectoryFailsWithoutLeavingAFile) {
  EPTModel model = test::small_model();
  EXPECT_THROW(save_checkpoint(model, path("no/such/dir/model.ept")), CheckpointError);
  EXPECT_FALSE(fs::exists(path("no")));
}

TEST_F(Checkpoint, OverwriteKeepsTheOldFileUntilTheNewOneIsComplete) {
  EPTModel a = test::small_model({}, 1), b = test::small_model({}, 2);
  const std::string file = path("model.ept");
  save_checkpoint(a, file);
  const std::string before = read_file(file);
  save_checkpoint(b, file);
  EXPECT_NE(read_file(file), before);
  EXPECT_EQ(read_file(file), checkpoint_bytes(b));
}

}  // namespace
}  // namespace ept
