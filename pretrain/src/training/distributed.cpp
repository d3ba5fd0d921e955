#include "ept/training/distributed.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>
#include <string>

#include "ept/error.h"

namespace ept {

struct DataParallel::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

namespace {

int integer_from_environment(const char* name) {
  const char* value = std::getenv(name);
  if (!value) throw Error(std::string("distributed training: ") + name + " is not set");
  try {
    size_t used = 0;
    const int v = std::stoi(value, &used);
    if (used != std::string(value).size()) throw std::invalid_argument(value);
    return v;
  } catch (const std::exception&) {
    throw Error(std::string("distributed training: ") + name + "='" + value + "' is not an integer");
  }
}

}  // namespace

std::unique_ptr<DataParallel> DataParallel::from_environment() {
  if (!std::getenv("WORLD_SIZE")) return nullptr;
  const int world = integer_from_environment("WORLD_SIZE");
  if (world <= 1) return nullptr;
  const int rank = integer_from_environment("RANK");
  if (rank < 0 || rank >= world)
    throw Error("distributed training: RANK=" + std::to_string(rank) + " is outside 0.." + std::to_string(world - 1));
  auto group = std::make_unique<Group>();
  if (const char* file = std::getenv("EPT_STORE_FILE")) {
    group->store = c10::make_intrusive<c10d::FileStore>(file, world);
  } else {
    const char* host = std::getenv("MASTER_ADDR");
    if (!host) throw Error("distributed training: set MASTER_ADDR and MASTER_PORT, or EPT_STORE_FILE");
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(integer_from_environment("MASTER_PORT"));
    options.isServer = rank == 0;
    options.numWorkers = world;
    group->store = c10::make_intrusive<c10d::TCPStore>(host, options);
  }
  auto options = c10d::ProcessGroupGloo::Options::create();
  options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  if (const char* host = std::getenv("MASTER_ADDR"))
    if (std::string(host) != "127.0.0.1" && std::string(host) != "localhost")
      options->devices[0] = c10d::ProcessGroupGloo::createDefaultDevice();
  options->threads = 1;
  group->group = c10::make_intrusive<c10d::ProcessGroupGloo>(group->store, rank, world, options);
  return std::unique_ptr<DataParallel>(new DataParallel(rank, world, std::move(group)));
}

DataParallel::DataParallel(int rank, int world, std::unique_ptr<Group> group)
    : rank_(rank), world_(world), group_(std::move(group)) {}

DataParallel::~DataParallel() = default;

void DataParallel::average_gradients(const std::vector<torch::Tensor>& parameters, int64_t bucket_elements) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : parameters) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  for (size_t start = 0; start < grads.size();) {
    size_t end = start;
    int64_t elements = 0;
    while (end < grads.size() && (end == start || elements + grads[end].numel() <= bucket_elements))
      elements += grads[end++].numel();
    std::vector<torch::Tensor> pieces;
    for (size_t k = start; k < end; ++k) pieces.push_back(grads[k].reshape({-1}));
    std::vector<torch::Tensor> bucket{torch::cat(pieces)};
    group_->group->allreduce(bucket)->wait();
    bucket[0].div_(world_);
    int64_t offset = 0;
    for (size_t k = start; k < end; ++k) {
      const int64_t n = grads[k].numel();
      grads[k].copy_(bucket[0].slice(0, offset, offset + n).view_as(grads[k]));
      offset += n;
    }
    start = end;
  }
}

double DataParallel::sum(double value) {
  std::vector<torch::Tensor> t{torch::tensor({value}, torch::kFloat64)};
  group_->group->allreduce(t)->wait();
  return t[0].item<double>();
}

void DataParallel::broadcast(const std::vector<torch::Tensor>& tensors) {
  for (const auto& tensor : tensors) {
    std::vector<torch::Tensor> t{tensor.detach()};
    group_->group->broadcast(t)->wait();
  }
}

void DataParallel::barrier() { group_->group->barrier()->wait(); }

}  // namespace ept
