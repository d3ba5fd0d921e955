// Run as two processes (RANK 0 and 1, WORLD_SIZE=2, EPT_STORE_FILE or MASTER_ADDR/PORT): each takes half of a
// batch of the fixture corpus, gradients are averaged over the processes, and each process compares them with
// the gradient of the mean of both halves' losses computed alone. Prints the relative difference; exit 0 when
// it is below 1e-6. tests/python/test_pretrain_cli.py launches it.
#include <torch/utils.h>

#include <iostream>

#include "ept/training/distributed.h"
#include "ept/training/trainer.h"

int main() {
  torch::set_num_threads(1);
  const auto parallel = ept::DataParallel::from_environment();
  if (!parallel || parallel->world_size() != 2) {
    std::cerr << "run with WORLD_SIZE=2\n";
    return 2;
  }
  const ept::Corpus corpus = ept::Corpus::load(std::string(EPT_FIXTURE_DIR) + "/corpus");
  ept::TrainConfig config;
  config.model.hidden = 16;
  config.model.ffn = 32;
  config.model.heads = 2;
  config.model.layers = 2;
  config.model.radial = 8;
  config.dtype = torch::kFloat64;
  ept::Trainer trainer(corpus, config, "", parallel.get());
  auto& model = trainer.model();
  const std::vector<std::vector<size_t>> halves = {{0, 2, 4, 6}, {1, 3, 5, 7}};
  const uint64_t noise = 11;

  model->zero_grad();
  trainer.loss_on(model, halves[parallel->rank()], noise).backward();
  parallel->average_gradients(model->parameters(), /*bucket_elements=*/4096);  // several buckets
  std::vector<torch::Tensor> averaged;
  for (const auto& p : model->parameters()) averaged.push_back(p.grad().clone());

  model->zero_grad();
  (0.5 * (trainer.loss_on(model, halves[0], noise) + trainer.loss_on(model, halves[1], noise))).backward();
  double diff = 0, scale = 0;
  const auto params = model->parameters();
  for (size_t k = 0; k < params.size(); ++k) {
    // zero_grad() leaves no gradient at all on parameters the loss does not use (the energy head).
    const auto reference = params[k].grad().defined() ? params[k].grad() : torch::zeros_like(params[k]);
    diff = std::max(diff, (reference - averaged[k]).abs().max().item<double>());
    scale = std::max(scale, reference.abs().max().item<double>());
  }
  std::cout << "rank " << parallel->rank() << ": max |averaged − union| / max |union| = " << diff / scale << "\n";
  parallel->barrier();
  return scale > 0 && diff / scale < 1e-6 ? 0 : 1;
}
