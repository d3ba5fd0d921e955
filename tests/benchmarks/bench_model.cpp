// Time and peak memory of one model evaluation on a water system of a given size.
//   ept_bench_model ATOMS sparse|dense [REPEATS] [forward|reference]
// With `forward`, only the gradient-free forward pass runs (for sizes whose backward pass exceeds memory); with
// `reference`, the evaluation runs the reference LibTorch ops instead of the fused pair kernels (ept/model/fused.h).
// EPT_BENCH_CONFIG='{"hidden": 128, "layers": 4, ...}' sets model sizes (config.json keys; default: the defaults).
// Prints one line: atoms, mode, pairs, graph ms, forward ms, forward+backward ms, peak RSS growth (MB).
// Run one configuration per process (model_scaling.sh does) so that the peak RSS belongs to it alone.
#include <sys/resource.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <fstream>
#include <random>
#include <string>

#include "ept/model/allocator.h"
#include "ept/model/batch.h"
#include "ept/model/evaluator.h"
#include "ept/model/geometry.h"
#include "ept/model/graph.h"
#include "ept/model/model.h"

namespace {

using Clock = std::chrono::steady_clock;

double rss_mb(const char* field) {  // VmRSS or VmHWM from /proc/self/status, MB
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(line.find(':') + 1)) / 1024.0;
  return 0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Waters on a cubic grid of spacing 3.1 Å (liquid density), randomly oriented, each its own molecule.
ept::AtomTable waters(int64_t count, std::vector<ept::Vec3>& x, double& edge) {
  const int64_t side = static_cast<int64_t>(std::ceil(std::cbrt(static_cast<double>(count))));
  edge = side * 3.1;
  std::mt19937_64 rng(1);
  std::normal_distribution<double> n;
  ept::AtomTable t;
  for (int64_t w = 0; w < count; ++w) {
    const ept::Vec3 o{3.1 * (w % side), 3.1 * ((w / side) % side), 3.1 * (w / (side * side))};
    ept::Vec3 a{n(rng), n(rng), n(rng)}, b{n(rng), n(rng), n(rng)};
    const double la = std::sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
    for (auto& v : a) v /= la;
    const double d = b[0] * a[0] + b[1] * a[1] + b[2] * a[2];
    for (int k = 0; k < 3; ++k) b[k] -= d * a[k];
    const double lb = std::sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2]);
    for (auto& v : b) v /= lb;
    const int64_t i = static_cast<int64_t>(t.size());
    t.atomic_numbers.insert(t.atomic_numbers.end(), {8, 1, 1});
    x.push_back(o);
    // H–O–H of 104.5° and 0.96 Å in the plane of a and b.
    const double c = std::cos(0.912), s = std::sin(0.912);
    x.push_back({o[0] + 0.96 * (c * a[0] + s * b[0]), o[1] + 0.96 * (c * a[1] + s * b[1]), o[2] + 0.96 * (c * a[2] + s * b[2])});
    x.push_back({o[0] + 0.96 * (c * a[0] - s * b[0]), o[1] + 0.96 * (c * a[1] - s * b[1]), o[2] + 0.96 * (c * a[2] - s * b[2])});
    t.bonds.push_back({i, i + 1});
    t.bonds.push_back({i, i + 2});
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: ept_bench_model ATOMS sparse|dense [REPEATS] [forward|reference]\n");
    return 2;
  }
  const int64_t atoms = std::stoll(argv[1]);
  const std::string mode = argv[2];
  const int repeats = argc > 3 ? std::stoi(argv[3]) : 5;
  const std::string variant = argc > 4 ? argv[4] : "";
  if (!variant.empty() && variant != "forward" && variant != "reference") {
    std::fprintf(stderr, "ept_bench_model: unknown variant '%s' (forward or reference)\n", variant.c_str());
    return 2;
  }
  const bool with_backward = variant != "forward";
  torch::set_num_threads(1);
  ept::tune_allocator();
  const char* sizes = std::getenv("EPT_BENCH_CONFIG");
  ept::ModelConfig config = sizes ? ept::ModelConfig::from_json(sizes) : ept::ModelConfig();
  config.attention = mode == "dense" ? ept::AttentionMode::Dense : ept::AttentionMode::Sparse;
  torch::manual_seed(0);
  ept::EPTModel model(config);

  std::vector<ept::Vec3> x;
  double edge = 0;
  const ept::AtomTable table = waters(std::max<int64_t>(1, atoms / 3), x, edge);
  const ept::Complex complex = ept::build_complex(table);
  const bool periodic = config.attention == ept::AttentionMode::Sparse && edge > 2.2 * config.cutoff;
  const ept::Box box = periodic ? ept::Box::orthorhombic(edge, edge, edge) : ept::Box::none();

  // EPT_PROFILE=trace.json writes a Chrome trace of the timed rounds (op by op).
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
  const double rss0 = rss_mb("VmRSS");
  std::vector<double> graph_ms, forward_ms, backward_ms;
  int64_t pairs = 0;
  ept::EvaluatorOptions options{torch::kFloat32};
  options.fused = variant != "reference";
  ept::Evaluator evaluator(model, complex, options);
  evaluator.set_positions(x, box);
  for (int r = 0; r < repeats + 1; ++r) {  // the first round warms up
    auto t0 = Clock::now();
    evaluator.rebuild_graph();
    auto t1 = Clock::now();
    evaluator.forward();
    auto t2 = Clock::now();
    if (with_backward) evaluator.compute(ept::OutputMode::Energy);
    auto t3 = Clock::now();
    pairs = evaluator.num_pairs();
    if (r == 0) {
      if (const char* trace = std::getenv("EPT_PROFILE"))
        profile = std::make_unique<torch::autograd::profiler::RecordProfile>(trace);
      continue;
    }
    graph_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    forward_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    backward_ms.push_back(with_backward ? std::chrono::duration<double, std::milli>(t3 - t2).count() : NAN);
  }
  profile.reset();
  std::printf("%lld %s %lld %.3f %.3f %.3f %.1f\n", static_cast<long long>(x.size()), mode.c_str(),
              static_cast<long long>(pairs), median(graph_ms), median(forward_ms), median(backward_ms),
              rss_mb("VmHWM") - rss0);
  return 0;
}
