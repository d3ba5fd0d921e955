#include "ept/model/config.h"

#include <nlohmann/json.hpp>

#include "ept/error.h"

namespace ept {

void ModelConfig::validate() const {
  auto positive = [](const char* name, double v) {
    if (!(v > 0)) throw InputError(std::string("model config: '") + name + "' must be positive, got " + std::to_string(v));
  };
  positive("hidden", hidden);
  positive("ffn", ffn);
  positive("heads", heads);
  positive("layers", layers);
  positive("edge_dim", edge_dim);
  positive("qk_factor", qk_factor);
  positive("cutoff", cutoff);
  positive("message_norm", message_norm);
  positive("vector_eps", vector_eps);
  if (radial < 2) throw InputError("model config: 'radial' must be at least 2");
  if (hidden % heads != 0)
    throw InputError("model config: 'hidden' (" + std::to_string(hidden) + ") must be a multiple of 'heads' (" +
                     std::to_string(heads) + ")");
}

std::string ModelConfig::to_json() const {
  nlohmann::ordered_json j = {
      {"hidden", hidden}, {"ffn", ffn}, {"heads", heads}, {"layers", layers}, {"radial", radial},
      {"edge_dim", edge_dim}, {"qk_factor", qk_factor}, {"cutoff", cutoff},
      {"attention", attention == AttentionMode::Dense ? "dense" : "sparse"}, {"envelope", envelope},
      {"message_norm", message_norm}, {"vector_eps", vector_eps}};
  return j.dump();
}

ModelConfig ModelConfig::from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw InputError(std::string("model config is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw InputError("model config must be a JSON object");
  ModelConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    try {
      if (key == "hidden") c.hidden = it->get<int64_t>();
      else if (key == "ffn") c.ffn = it->get<int64_t>();
      else if (key == "heads") c.heads = it->get<int64_t>();
      else if (key == "layers") c.layers = it->get<int64_t>();
      else if (key == "radial") c.radial = it->get<int64_t>();
      else if (key == "edge_dim") c.edge_dim = it->get<int64_t>();
      else if (key == "qk_factor") c.qk_factor = it->get<int64_t>();
      else if (key == "cutoff") c.cutoff = it->get<double>();
      else if (key == "envelope") c.envelope = it->get<bool>();
      else if (key == "message_norm") c.message_norm = it->get<double>();
      else if (key == "vector_eps") c.vector_eps = it->get<double>();
      else if (key == "attention") {
        const auto mode = it->get<std::string>();
        if (mode != "dense" && mode != "sparse")
          throw InputError("model config: 'attention' must be \"dense\" or \"sparse\", got \"" + mode + "\"");
        c.attention = mode == "dense" ? AttentionMode::Dense : AttentionMode::Sparse;
      } else {
        throw InputError("model config: unknown key '" + key + "'");
      }
    } catch (const nlohmann::json::exception& e) {
      throw InputError("model config: key '" + key + "' has the wrong type: " + e.what());
    }
  }
  c.validate();
  return c;
}

}  // namespace ept
