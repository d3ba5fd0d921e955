#pragma once
// One file per model: magic, format version, a JSON header (config, vocabulary version, tensor table, free-form
// metadata), the raw weights, and a CRC-32 of everything before it. Saving is atomic; loading a missing,
// foreign, truncated, corrupt, wrong-version or mismatching file raises CheckpointError naming file and problem.
#include <string>

#include "ept/model/model.h"

namespace ept {

struct CheckpointInfo {
  ModelConfig config;
  int vocab_version = 0;
  std::string checksum;  // CRC-32 of the file body, hex: identifies the exact weights
  std::string metadata;  // JSON object written with the model (training provenance, labels)
  torch::Dtype dtype = torch::kFloat32;
  /// What the energy head's output means, from metadata "energy": "untrained" (never fitted; the default, as for
  /// every pretrained model: denoising trains the force head), "total" (a potential energy of its own), or
  /// "delta:NAME" (a correction to add to the force field NAME).
  std::string energy = "untrained";
};

/// One sentence on what a model's energy means and where it may be used, for `energy` as in CheckpointInfo.
std::string energy_meaning_text(const std::string& energy);

/// The file's bytes for `model` (weights in the model's dtype).
std::string checkpoint_bytes(EPTModel& model, const std::string& metadata_json = "{}");
void save_checkpoint(EPTModel& model, const std::string& path, const std::string& metadata_json = "{}");

/// `label` names the source in errors (a path, or "embedded model").
EPTModel load_checkpoint_bytes(const std::string& bytes, const std::string& label, CheckpointInfo* info = nullptr);
EPTModel load_checkpoint(const std::string& path, CheckpointInfo* info = nullptr);

}  // namespace ept
