#include "ept/model/checkpoint.h"

#include <cstring>
#include <filesystem>
#include <set>
#include <nlohmann/json.hpp>

#include "ept/data/atomic_file.h"
#include "ept/data/checksum.h"
#include "ept/error.h"
#include "ept/data/vocabulary.h"

namespace ept {
namespace {

constexpr char kMagic[8] = {'E', 'P', 'T', 'M', 'O', 'D', 'E', 'L'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kPreamble = sizeof(kMagic) + sizeof(uint32_t) + sizeof(uint64_t);

using Kind = CheckpointError::Kind;

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}
template <typename T>
T get(const std::string& in, size_t offset) {
  T value;
  std::memcpy(&value, in.data() + offset, sizeof(T));
  return value;
}

const char* dtype_name(torch::Dtype t) { return t == torch::kFloat64 ? "float64" : "float32"; }

}  // namespace

std::string checkpoint_bytes(EPTModel& model, const std::string& metadata_json) {
  nlohmann::ordered_json header;
  header["vocab_version"] = vocab::kVersion;
  header["config"] = nlohmann::json::parse(model->config().to_json());
  header["metadata"] = nlohmann::json::parse(metadata_json);
  std::string payload;
  auto& table = header["tensors"] = nlohmann::json::array();
  auto tensors = model->named_parameters();
  for (const auto& item : model->named_buffers()) tensors.insert(item.key(), item.value());
  for (const auto& item : tensors) {
    const auto t = item.value().detach().contiguous().cpu();
    if (t.scalar_type() != torch::kFloat32 && t.scalar_type() != torch::kFloat64)
      throw Error("checkpoint: parameter '" + item.key() + "' is neither float32 nor float64");
    if (!torch::isfinite(t).all().item<bool>())
      throw CheckpointError(Kind::NonFinite, "model",
                            "parameter '" + item.key() + "' holds NaN or inf; a broken model is never written");
    table.push_back({{"name", item.key()}, {"dtype", dtype_name(t.scalar_type())}, {"shape", t.sizes().vec()}});
    payload.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
  }
  header["payload_bytes"] = payload.size();
  const std::string head = header.dump();
  std::string out(kMagic, sizeof(kMagic));
  put<uint32_t>(out, kFormatVersion);
  put<uint64_t>(out, head.size());
  out += head;
  out += payload;
  put<uint32_t>(out, crc32_of(out));
  return out;
}

void save_checkpoint(EPTModel& model, const std::string& path, const std::string& metadata_json) {
  try {
    write_file_atomically(path, checkpoint_bytes(model, metadata_json));
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    throw CheckpointError(Kind::Io, path, e.what());
  }
}

EPTModel load_checkpoint_bytes(const std::string& bytes, const std::string& label, CheckpointInfo* info) {
  const size_t size = bytes.size();
  if (size == 0) throw CheckpointError(Kind::Foreign, label, "the file is empty");
  const size_t magic_len = std::min(size, sizeof(kMagic));
  if (std::memcmp(bytes.data(), kMagic, magic_len) != 0)
    throw CheckpointError(Kind::Foreign, label, "the file does not start with the EPT checkpoint signature");
  if (size < kPreamble) throw CheckpointError(Kind::Truncated, label, "the file ends inside its preamble");
  const auto version = get<uint32_t>(bytes, sizeof(kMagic));
  // Versions are numbered from 1 and grow by one per release that changes the format: a number far beyond this
  // build's is a damaged preamble rather than a future file.
  if (version > kFormatVersion + 100)
    throw CheckpointError(Kind::Corrupt, label,
                          "format version " + std::to_string(version) + ", far beyond any release (this build reads "
                          "version " + std::to_string(kFormatVersion) + "): the file's preamble is most likely "
                          "damaged; copy the file again");
  if (version != kFormatVersion)
    throw CheckpointError(Kind::WrongVersion, label,
                          "format version " + std::to_string(version) + " (this build reads version " +
                              std::to_string(kFormatVersion) + "); use the openmm-ept release that wrote it");
  const auto head_len = get<uint64_t>(bytes, sizeof(kMagic) + sizeof(uint32_t));
  if (head_len > size - kPreamble)
    throw CheckpointError(Kind::Truncated, label, "the file ends inside its header");
  // A header that parses tells whether the file is complete; the checksum then catches damage anywhere
  // (a damaged header included, which may not parse at all).
  nlohmann::json header = nlohmann::json::parse(bytes.substr(kPreamble, head_len), nullptr, /*allow_exceptions=*/false);
  const bool header_parses = !header.is_discarded() && header.contains("payload_bytes") &&
                             header["payload_bytes"].is_number_unsigned();
  size_t expected = 0;
  if (header_parses) {
    expected = kPreamble + head_len + header["payload_bytes"].get<size_t>() + sizeof(uint32_t);
    if (size < expected)
      throw CheckpointError(Kind::Truncated, label,
                            std::to_string(size) + " bytes, expected " + std::to_string(expected) +
                                "; the file was cut short (copy it again or retrain)");
  }
  if (size < kPreamble + head_len + sizeof(uint32_t))
    throw CheckpointError(Kind::Truncated, label, "the file ends before its checksum");
  const uint32_t stored = get<uint32_t>(bytes, size - sizeof(uint32_t));
  const uint32_t computed = crc32_of(bytes, size - sizeof(uint32_t));
  if (header_parses && size > expected)
    throw CheckpointError(Kind::Corrupt, label, std::to_string(size - expected) + " unexpected bytes after the end");
  if (stored != computed)
    throw CheckpointError(Kind::Corrupt, label, "checksum mismatch (stored " + crc32_hex(stored) + ", computed " +
                                                    crc32_hex(computed) + "); the file was damaged");
  if (!header_parses) throw CheckpointError(Kind::Corrupt, label, "the header is not a valid EPT header");
  const size_t payload_len = header["payload_bytes"].get<size_t>();
  CheckpointInfo meta;
  try {
    meta.vocab_version = header.at("vocab_version").get<int>();
    meta.config = ModelConfig::from_json(header.at("config").dump());
    meta.metadata = header.value("metadata", nlohmann::json::object()).dump();
    const auto& m = header.value("metadata", nlohmann::json::object());
    if (m.contains("energy")) meta.energy = m.at("energy").get<std::string>();
  } catch (const std::exception& e) {
    throw CheckpointError(Kind::Incompatible, label, e.what());
  }
  if (meta.vocab_version != vocab::kVersion)
    throw CheckpointError(Kind::WrongVersion, label,
                          "vocabulary version " + std::to_string(meta.vocab_version) + " (this build has version " +
                              std::to_string(vocab::kVersion) + ")");
  meta.checksum = crc32_hex(computed);

  EPTModel model(meta.config);
  // Parameters must all be stored; buffers (the energy offsets and scale) may be absent from files written
  // before they existed and then keep their defaults (no offsets, scale 1).
  auto params = model->named_parameters();
  const size_t num_parameters = params.size();
  for (const auto& item : model->named_buffers()) params.insert(item.key(), item.value());
  const auto& table = header.at("tensors");
  if (table.size() < num_parameters || table.size() > params.size())
    throw CheckpointError(Kind::Incompatible, label,
                          std::to_string(table.size()) + " tensors stored, the model has " +
                              std::to_string(num_parameters) + " parameters and " +
                              std::to_string(params.size() - num_parameters) + " buffers");
  size_t offset = kPreamble + head_len;
  bool any_double = false;
  std::set<std::string> loaded;
  torch::NoGradGuard no_grad;
  for (const auto& entry : table) {
    const std::string name = entry.at("name").get<std::string>();
    const auto shape = entry.at("shape").get<std::vector<int64_t>>();
    const bool is_double = entry.at("dtype").get<std::string>() == "float64";
    any_double = any_double || is_double;
    auto* param = params.find(name);
    if (!param)
      throw CheckpointError(Kind::Incompatible, label, "tensor '" + name + "' is not part of this model");
    if (param->sizes().vec() != shape)
      throw CheckpointError(Kind::Incompatible, label, "tensor '" + name + "' has another shape than the model's");
    const auto dtype = is_double ? torch::kFloat64 : torch::kFloat32;
    const auto stored_tensor = torch::empty(shape, dtype);
    if (offset + stored_tensor.nbytes() > kPreamble + head_len + payload_len)
      throw CheckpointError(Kind::Corrupt, label, "tensor '" + name + "' runs past the payload");
    std::memcpy(stored_tensor.data_ptr(), bytes.data() + offset, stored_tensor.nbytes());
    offset += stored_tensor.nbytes();
    if (!torch::isfinite(stored_tensor).all().item<bool>())
      throw CheckpointError(Kind::NonFinite, label, "tensor '" + name + "' holds NaN or inf (the run that wrote it "
                                                    "diverged); use an earlier checkpoint");
    param->set_data(stored_tensor);
    loaded.insert(name);
  }
  for (const auto& item : model->named_parameters())
    if (!loaded.count(item.key()))
      throw CheckpointError(Kind::Incompatible, label, "parameter '" + item.key() + "' is missing");
  meta.dtype = any_double ? torch::kFloat64 : torch::kFloat32;
  model->to(meta.dtype);  // buffers a file lacks follow its parameters' dtype
  if (info) *info = meta;
  return model;
}

std::string energy_meaning_text(const std::string& energy) {
  if (energy == "untrained")
    return "untrained: the energy head was never fitted, so in energy mode the model adds a meaningless term "
           "(descriptors and the direct force head are what a pretrained model offers)";
  if (energy == "total") return "total: a potential energy of its own (EPT alone, or EPT for the ML region in ML/MM)";
  if (energy.rfind("delta:", 0) == 0)
    return "a correction to add to the force field " + energy.substr(6) +
           " (keep that force field's terms; do not replace them with EPT)";
  return "unknown ('" + energy + "')";
}

EPTModel load_checkpoint(const std::string& path, CheckpointInfo* info) {
  if (!std::filesystem::exists(path))
    throw CheckpointError(Kind::Missing, path, "no such file; train one with `ept pretrain` or use the shipped model");
  if (std::filesystem::is_directory(path)) {
    const auto inside = std::filesystem::path(path) / "model.ept";
    throw CheckpointError(Kind::Missing, path, "is a directory, not a model file; give the .ept file" +
                                                   (std::filesystem::exists(inside) ? " ('" + inside.string() + "'?)"
                                                                                    : std::string()));
  }
  std::string bytes;
  try {
    bytes = read_file(path);
  } catch (const std::exception& e) {
    throw CheckpointError(Kind::Io, path, e.what());
  }
  return load_checkpoint_bytes(bytes, path, info);
}

}  // namespace ept
