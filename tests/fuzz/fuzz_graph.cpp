// Graph files of `ept finetune --objective sipt` (edge lists, state labels): the first byte picks the reader and
// the number of nodes; what is read is a valid graph (nodes in range, no self-loops, every edge both ways) or
// labels of every node, or an InputError naming the file.
#include "ept/training/conformation_graph.h"
#include "ept/error.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int64_t nodes = data[0] & 0x3F;
  const bool labels = data[0] & 0x80;
  const std::string path = ept::fuzz::as_file(data + 1, size - 1, labels ? ".labels" : ".edges");
  try {
    if (labels) {
      if (static_cast<int64_t>(ept::read_labels(path, nodes).size()) != nodes) __builtin_trap();
      return 0;
    }
    const ept::ConformationGraph g = ept::read_edge_list(path, nodes);
    if (g.num_nodes() != nodes) __builtin_trap();
    for (const auto& [i, j] : g.edges())
      if (i < 0 || j >= nodes || i >= j || !g.has_edge(j, i)) __builtin_trap();
  } catch (const ept::Error&) {
  }
  return 0;
}
