#pragma once
// Data-parallel training over PyTorch's c10d process groups (Gloo on CPU), launched like torchrun: every process
// gets RANK and WORLD_SIZE, and either MASTER_ADDR + MASTER_PORT (a TCP store served by rank 0) or
// EPT_STORE_FILE (a file store on a shared file system).
#include <torch/types.h>

#include <memory>
#include <vector>

namespace ept {

class DataParallel {
 public:
  /// The process group described by the environment; nullptr when WORLD_SIZE is unset or 1.
  /// Throws ept::Error naming the variable that is missing or malformed.
  static std::unique_ptr<DataParallel> from_environment();
  ~DataParallel();

  int rank() const { return rank_; }
  int world_size() const { return world_; }
  /// Replaces each gradient by its mean over the processes; gradients travel flattened in buckets of
  /// `bucket_elements` (one all-reduce per bucket instead of one per tensor).
  void average_gradients(const std::vector<torch::Tensor>& parameters, int64_t bucket_elements = 1 << 20);
  /// Sum of `value` over the processes.
  double sum(double value);
  /// Copies rank 0's tensors into every process's.
  void broadcast(const std::vector<torch::Tensor>& tensors);
  void barrier();

 private:
  struct Group;
  DataParallel(int rank, int world, std::unique_ptr<Group> group);
  int rank_, world_;
  std::unique_ptr<Group> group_;
};

}  // namespace ept
