// Conformation graphs: construction, components, time-lag, label and RMSD graphs, their files, and the
// superposition RMSD they rest on (checked against an independent Kabsch superposition by SVD).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <torch/types.h>

#include "ept/training/conformation_graph.h"
#include "ept/error.h"
#include "test_support.h"

namespace ept {
namespace {

namespace fs = std::filesystem;
using Edges = std::vector<std::pair<int64_t, int64_t>>;

// The message of the InputError that `f` throws ("" and a test failure when it throws none).
template <class F>
std::string input_error(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError";
  return "";
}

std::vector<Vec3> random_points(std::mt19937_64& rng, size_t n, double half_width) {
  std::uniform_real_distribution<double> u(-half_width, half_width);
  std::vector<Vec3> x(n);
  for (auto& p : x) p = {u(rng), u(rng), u(rng)};
  return x;
}

// Kabsch by SVD with the determinant correction (proper rotations only), on the atoms `atoms`.
double kabsch_rmsd(const std::vector<Vec3>& a, const std::vector<Vec3>& b, const std::vector<int64_t>& atoms) {
  std::vector<Vec3> sa, sb;
  for (int64_t k : atoms) sa.push_back(a[k]), sb.push_back(b[k]);
  auto ta = test::to_tensor(sa), tb = test::to_tensor(sb);
  ta = ta - ta.mean(0);
  tb = tb - tb.mean(0);
  const auto [u, s, vh] = at::linalg_svd(ta.t().mm(tb), true);
  const double d = (at::det(u) * at::det(vh)).item<double>() < 0 ? -1.0 : 1.0;
  const auto r = vh.t().mm(torch::diag(torch::tensor({1.0, 1.0, d}, torch::kFloat64))).mm(u.t());  // b ≈ R a
  return std::sqrt((ta.mm(r.t()) - tb).pow(2).sum().item<double>() / static_cast<double>(atoms.size()));
}

std::vector<int64_t> all_atoms(size_t n) {
  std::vector<int64_t> atoms(n);
  for (size_t k = 0; k < n; ++k) atoms[k] = static_cast<int64_t>(k);
  return atoms;
}

class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("ept-graph-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name)) << text;
    return file(name);
  }

 private:
  fs::path path_;
};

// ---------------------------------------------------------------------------------------------------------------

TEST(ConformationGraph, MergesDuplicatesAndStoresBothDirections) {
  const ConformationGraph empty;
  EXPECT_EQ(empty.num_nodes(), 0);
  EXPECT_EQ(empty.num_edges(), 0);
  EXPECT_EQ(empty.num_components(), 0);

  const ConformationGraph g(5, {{0, 1}, {1, 0}, {2, 1}, {0, 1}, {4, 1}}, "test");
  EXPECT_EQ(g.num_nodes(), 5);
  EXPECT_EQ(g.num_edges(), 3);
  EXPECT_EQ(g.description(), "test");
  EXPECT_TRUE(g.has_edge(0, 1));
  EXPECT_TRUE(g.has_edge(1, 0));
  EXPECT_TRUE(g.has_edge(4, 1));
  EXPECT_FALSE(g.has_edge(0, 2));
  EXPECT_FALSE(g.has_edge(3, 3));
  EXPECT_FALSE(g.has_edge(7, 0));
  EXPECT_EQ(g.degree(1), 3);
  EXPECT_EQ(g.degree(0), 1);
  EXPECT_EQ(g.degree(3), 0);
  EXPECT_EQ(std::vector<int64_t>(g.neighbours_begin(1), g.neighbours_end(1)), (std::vector<int64_t>{0, 2, 4}));
  EXPECT_EQ(g.edges(), (Edges{{0, 1}, {1, 2}, {1, 4}}));
  EXPECT_EQ(g.component(), (std::vector<int64_t>{0, 0, 0, 1, 0}));
  EXPECT_EQ(g.num_components(), 2);
}

TEST(ConformationGraph, RefusesSelfLoopsAndMissingNodes) {
  EXPECT_NE(input_error([] { ConformationGraph(4, {{0, 1}, {2, 2}}); }).find("itself"), std::string::npos);
  const auto missing = input_error([] { ConformationGraph(4, {{0, 1}, {1, 4}}); });
  EXPECT_NE(missing.find("node 4 does not exist"), std::string::npos) << missing;
  EXPECT_NE(missing.find("numbered 0 to 3"), std::string::npos) << missing;
  EXPECT_NE(input_error([] { ConformationGraph(4, {{-1, 2}}); }).find("node -1"), std::string::npos);
  input_error([] { ConformationGraph(-1, {}); });
}

TEST(ConformationGraph, ComponentsAreNumberedByTheirSmallestNode) {
  const ConformationGraph g(7, {{4, 5}, {1, 3}, {0, 5}, {6, 3}});
  EXPECT_EQ(g.component(), (std::vector<int64_t>{0, 1, 2, 1, 0, 0, 1}));
  EXPECT_EQ(g.num_components(), 3);
}

TEST(ConformationGraph, SubgraphRenumbersInTheOrderGiven) {
  const ConformationGraph g(6, {{0, 1}, {1, 2}, {2, 3}, {0, 3}, {4, 5}});
  const auto s = g.subgraph({3, 1, 0, 5});  // new 0 = 3, 1 = 1, 2 = 0, 3 = 5
  EXPECT_EQ(s.num_nodes(), 4);
  EXPECT_EQ(s.edges(), (Edges{{0, 2}, {1, 2}}));
  EXPECT_EQ(s.component(), (std::vector<int64_t>{0, 0, 0, 1}));
  EXPECT_NE(input_error([&] { g.subgraph({1, 2, 1}); }).find("twice"), std::string::npos);
  EXPECT_NE(input_error([&] { g.subgraph({6}); }).find("node 6"), std::string::npos);
  EXPECT_EQ(g.subgraph({}).num_nodes(), 0);
}

TEST(TimeLagGraph, JoinsFramesWithinTauInEachTrajectory) {
  const auto g = time_lag_graph({4, 3}, 2);
  EXPECT_EQ(g.num_nodes(), 7);
  EXPECT_EQ(g.edges(), (Edges{{0, 1}, {0, 2}, {1, 2}, {1, 3}, {2, 3}, {4, 5}, {4, 6}, {5, 6}}));
  EXPECT_EQ(g.num_components(), 2);
  EXPECT_EQ(g.component(), (std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(time_lag_graph({4, 0, 3}, 1).edges(), (Edges{{0, 1}, {1, 2}, {2, 3}, {4, 5}, {5, 6}}));
  EXPECT_EQ(time_lag_graph({5}, 1000).num_edges(), 10);
  EXPECT_NE(input_error([] { time_lag_graph({4}, 0); }).find("τ must be at least 1 frame, got 0"), std::string::npos);
  EXPECT_NE(input_error([] { time_lag_graph({4, -2}, 1); }).find("-2"), std::string::npos);
}

TEST(LabelGraph, JoinsFramesWithTheSameLabel) {
  const auto g = label_graph({0, 1, 0, -1, 1, 0, -3});
  EXPECT_EQ(g.edges(), (Edges{{0, 2}, {0, 5}, {1, 4}, {2, 5}}));
  EXPECT_EQ(g.degree(3), 0);
  EXPECT_EQ(g.degree(6), 0);
  EXPECT_EQ(g.num_components(), 4);

  const std::vector<int64_t> labels{7, 2, 2, 2, 2, 2, 7};  // label 2: 10 edges, label 7: 1
  EXPECT_EQ(label_graph(labels, 11).num_edges(), 11);
  const auto refused = input_error([&] { label_graph(labels, 10); });
  EXPECT_NE(refused.find("label 2 is shared by 5 frames: 11 edges"), std::string::npos) << refused;
  EXPECT_NE(refused.find("stride"), std::string::npos) << refused;
}

TEST(GraphFiles, LabelsReadBackWithCommentsAndBlankLines) {
  TempDir dir;
  const auto path = dir.write("labels.txt", "# state per frame\n0\n\n  3  # folded\n-1\r\n3\n");
  EXPECT_EQ(read_labels(path, 4), (std::vector<int64_t>{0, 3, -1, 3}));
  EXPECT_NE(input_error([&] { read_labels(path, 5); }).find("4 labels but there are 5 frames"), std::string::npos);
  const auto bad = dir.write("bad.txt", "0\n1\nfolded\n");
  const auto message = input_error([&] { read_labels(bad, 3); });
  EXPECT_NE(message.find("line 3"), std::string::npos) << message;
  EXPECT_NE(message.find("folded"), std::string::npos) << message;
  EXPECT_NE(input_error([&] { read_labels(dir.write("two.txt", "1 2\n"), 1); }).find("line 1"), std::string::npos);
  const auto missing = dir.file("absent.txt");
  EXPECT_NE(input_error([&] { read_labels(missing, 1); }).find(missing), std::string::npos);
}

TEST(GraphFiles, EdgeListRoundTrip) {
  TempDir dir;
  const ConformationGraph g(6, {{3, 1}, {0, 5}, {2, 1}, {4, 5}}, "frames that bind");
  const auto path = dir.file("graph.txt");
  write_edge_list(g, path);
  std::ifstream in(path);
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_EQ(first, "# frames that bind: 6 nodes, 4 edges");
  EXPECT_EQ(second, "0 5");
  const auto back = read_edge_list(path, 6);
  EXPECT_EQ(back.edges(), g.edges());
  EXPECT_EQ(back.description(), g.description());
  EXPECT_EQ(back.component(), g.component());
  // Written for 6 nodes: refused for another frame count.
  EXPECT_NE(input_error([&] { read_edge_list(path, 7); }).find("written for 6 nodes"), std::string::npos);
}

TEST(GraphFiles, EdgeListErrorsNameTheLine) {
  TempDir dir;
  const auto plain = dir.write("plain.txt", "0 1\n\n  2\t3  # a comment\n# 9 9\n");
  const auto g = read_edge_list(plain, 4);
  EXPECT_EQ(g.edges(), (Edges{{0, 1}, {2, 3}}));
  EXPECT_NE(g.description().find(plain), std::string::npos);

  const auto missing_node = input_error([&] { read_edge_list(dir.write("a.txt", "0 1\n# c\n2 12\n"), 10); });
  EXPECT_NE(missing_node.find("line 3"), std::string::npos) << missing_node;
  EXPECT_NE(missing_node.find("node 12 does not exist (the graph has 10 nodes, numbered 0 to 9)"), std::string::npos)
      << missing_node;
  for (const std::string bad : {"0 1\n1 2 3\n", "0 1\n1\n", "0 1\n1 x\n", "0 1\n1 2.5\n", "0 1\n1 1\n"}) {
    const auto message = input_error([&] { read_edge_list(dir.write("bad.txt", bad), 10); });
    EXPECT_NE(message.find("line 2"), std::string::npos) << bad << " → " << message;
  }
  const auto missing = dir.file("absent.txt");
  EXPECT_NE(input_error([&] { read_edge_list(missing, 3); }).find(missing), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------------

TEST(SuperposedRmsd, RigidMotionGivesZero) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  for (int trial = 0; trial < 10; ++trial) {
    auto x = random_points(rng, 10, 3.0);
    if (trial == 1)  // planar
      for (auto& p : x) p[2] = 0;
    if (trial == 2)  // collinear
      for (auto& p : x) p = {p[0], 2 * p[0], -p[0]};
    const auto y = test::rigid_motion(x, test::random_rotation(rng), {10 * normal(rng), normal(rng), -5.0});
    EXPECT_LT(superposed_rmsd(x, y), 1e-10) << "trial " << trial;
    EXPECT_LT(superposed_rmsd(y, x), 1e-10) << "trial " << trial;
    EXPECT_EQ(superposed_rmsd(x, x), 0.0);
  }
}

TEST(SuperposedRmsd, MatchesKabschBySvd) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  const std::vector<int64_t> subset{1, 3, 4, 8, 9};
  for (int trial = 0; trial < 20; ++trial) {
    const auto a = random_points(rng, 10, 2.0);
    auto b = test::rigid_motion(a, test::random_rotation(rng), {1, 2, 3});
    const double noise = trial < 10 ? 0.1 : 1.5;
    for (auto& p : b)
      for (double& v : p) v += noise * normal(rng);
    const double rmsd = superposed_rmsd(a, b), expected = kabsch_rmsd(a, b, all_atoms(10));
    EXPECT_GT(expected, 0.01);
    EXPECT_NEAR(rmsd, expected, 1e-9) << "trial " << trial;
    EXPECT_NEAR(superposed_rmsd(a, b, subset), kabsch_rmsd(a, b, subset), 1e-9) << "trial " << trial;
  }
}

TEST(SuperposedRmsd, ScalingNeedsNoRotation) {
  // b = s·a about the centroid: M = s Σ a aᵀ, so the identity is the best rotation and RMSD = |1 − s| √(G/n).
  std::mt19937_64 rng(2);
  const auto a = random_points(rng, 12, 2.0);
  Vec3 c{0, 0, 0};
  for (const auto& p : a)
    for (int k = 0; k < 3; ++k) c[k] += p[k] / 12;
  std::vector<Vec3> b;
  double g = 0;
  for (const auto& p : a) {
    b.push_back({c[0] + 1.3 * (p[0] - c[0]) + 4, c[1] + 1.3 * (p[1] - c[1]), c[2] + 1.3 * (p[2] - c[2])});
    for (int k = 0; k < 3; ++k) g += (p[k] - c[k]) * (p[k] - c[k]);
  }
  EXPECT_NEAR(superposed_rmsd(a, b), 0.3 * std::sqrt(g / 12), 1e-12);
}

TEST(SuperposedRmsd, MirrorImageIsNotSuperposable) {
  std::mt19937_64 rng(8);
  const auto a = random_points(rng, 10, 2.0);
  auto mirrored = a;
  for (auto& p : mirrored) p[0] = -p[0];
  const double rmsd = superposed_rmsd(a, mirrored);
  EXPECT_GT(rmsd, 0.1);
  EXPECT_NEAR(rmsd, kabsch_rmsd(a, mirrored, all_atoms(10)), 1e-9);
  // A planar set is its own mirror image up to a rotation.
  auto flat = a;
  for (auto& p : flat) p[2] = 0;
  auto flat_mirrored = flat;
  for (auto& p : flat_mirrored) p[0] = -p[0];
  EXPECT_LT(superposed_rmsd(flat, flat_mirrored), 1e-10);
}

TEST(SuperposedRmsd, RefusesMismatchedOrMissingAtoms) {
  std::mt19937_64 rng(1);
  const auto a = random_points(rng, 5, 1.0), b = random_points(rng, 4, 1.0);
  EXPECT_NE(input_error([&] { superposed_rmsd(a, b); }).find("5 and 4 atoms"), std::string::npos);
  EXPECT_NE(input_error([&] { superposed_rmsd(a, a, {0, 5}); }).find("atom 5"), std::string::npos);
  input_error([] { superposed_rmsd({}, {}); });
}

// ---------------------------------------------------------------------------------------------------------------

// Small perturbations of 3 base shapes, each frame rotated and moved: many pairs near the radius on both sides.
std::vector<std::vector<Vec3>> perturbed_frames(std::mt19937_64& rng, int num_frames, int num_atoms) {
  std::vector<std::vector<Vec3>> bases;
  for (int s = 0; s < 3; ++s) bases.push_back(random_points(rng, num_atoms, 2.0));
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> sigma(0.02, 0.35);
  std::vector<std::vector<Vec3>> frames;
  for (int f = 0; f < num_frames; ++f) {
    auto x = bases[f % 3];
    const double s = sigma(rng);
    for (auto& p : x)
      for (double& v : p) v += s * normal(rng);
    frames.push_back(test::rigid_motion(x, test::random_rotation(rng), {normal(rng), normal(rng), normal(rng)}));
  }
  return frames;
}

TEST(RmsdGraph, MatchesBruteForce) {
  std::mt19937_64 rng(21);
  const auto frames = perturbed_frames(rng, 300, 8);
  for (const auto& atoms : {std::vector<int64_t>{}, std::vector<int64_t>{0, 2, 3, 5, 7}})
    for (double radius : {0.2, 0.4}) {
      Edges expected;
      for (int64_t i = 0; i < 300; ++i)
        for (int64_t j = i + 1; j < 300; ++j)
          if (superposed_rmsd(frames[i], frames[j], atoms) <= radius) expected.emplace_back(i, j);
      SCOPED_TRACE("radius " + std::to_string(radius) + ", " + std::to_string(atoms.size()) + " atoms given");
      // Many edges, and many non-edges among the 14850 pairs of frames of the same base shape.
      EXPECT_GT(expected.size(), 1000u);
      EXPECT_LT(expected.size(), 12000u);
      for (int threads : {1, 2}) {
        const auto g = rmsd_graph(frames, radius, atoms, threads);
        EXPECT_EQ(g.num_nodes(), 300);
        EXPECT_EQ(g.edges(), expected) << threads << " threads";
      }
    }
}

TEST(RmsdGraph, KeepsPairsExactlyAtTheRadius) {
  std::mt19937_64 rng(4);
  const auto a = random_points(rng, 6, 2.0);
  auto b = a;
  for (auto& p : b) p[1] += 0.1;  // a translation: RMSD 0 after superposition
  auto c = a;
  c[0][0] += 1.0;
  const std::vector<std::vector<Vec3>> frames{a, b, c};
  const double ac = superposed_rmsd(a, c), bc = superposed_rmsd(b, c);  // equal up to rounding
  EXPECT_EQ(rmsd_graph(frames, std::max(ac, bc)).edges(), (Edges{{0, 1}, {0, 2}, {1, 2}}));
  EXPECT_EQ(rmsd_graph(frames, std::nextafter(std::min(ac, bc), 0.0)).edges(), (Edges{{0, 1}}));
}

TEST(RmsdGraph, RefusesBadInput) {
  std::mt19937_64 rng(3);
  const std::vector<std::vector<Vec3>> frames{random_points(rng, 4, 1.0), random_points(rng, 4, 1.0)};
  for (double radius : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()})
    EXPECT_NE(input_error([&] { rmsd_graph(frames, radius); }).find("finite number of Å > 0"), std::string::npos);
  EXPECT_NE(input_error([&] { rmsd_graph(frames, 1.0, {4}); }).find("atom 4"), std::string::npos);
  input_error([&] { rmsd_graph(frames, 1.0, {}, 0); });
  const std::vector<std::vector<Vec3>> uneven{random_points(rng, 4, 1.0), random_points(rng, 5, 1.0)};
  EXPECT_NE(input_error([&] { rmsd_graph(uneven, 1.0); }).find("frame 1 has 5 atoms"), std::string::npos);
  auto broken = frames;
  broken[1][2][0] = std::nan("");
  EXPECT_NE(input_error([&] { rmsd_graph(broken, 1.0); }).find("frame 1"), std::string::npos);
  EXPECT_EQ(rmsd_graph({}, 1.0).num_nodes(), 0);
  EXPECT_EQ(rmsd_graph({frames[0]}, 1.0).num_nodes(), 1);
}

}  // namespace
}  // namespace ept
