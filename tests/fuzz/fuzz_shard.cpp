// Corpus shards (CBOR): records or an InputError naming the shard.
#include "ept/data/dataset.h"
#include "ept/error.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ept::fuzz::as_file(data, size, ".cbor");
  try {
    for (const auto& record : ept::read_shard(path)) ept::build_complex(record.table);
  } catch (const ept::Error&) {
  }
  return 0;
}
