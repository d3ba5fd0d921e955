#include "ept/model/batch.h"

#include <algorithm>

#include "ept/error.h"
#include "ept/data/vocabulary.h"

namespace ept {
namespace {

torch::Tensor int_tensor(const std::vector<int64_t>& v) {
  return torch::from_blob(const_cast<int64_t*>(v.data()), {static_cast<int64_t>(v.size())}, torch::kInt64).clone();
}
torch::Tensor real_tensor(const std::vector<double>& v, std::vector<int64_t> shape, torch::Dtype dtype) {
  return torch::from_blob(const_cast<double*>(v.data()), shape, torch::kFloat64).to(dtype).clone();
}

}  // namespace

Batch Batch::to(torch::Dtype dtype) const {
  Batch b = *this;
  b.shift = shift.to(dtype);
  b.enveloped = enveloped.to(dtype);
  b.unwrap = unwrap.to(dtype);
  b.segment_size = segment_size.to(dtype);
  b.block_size = block_size.to(dtype);
  return b;
}

Batch Batch::to(torch::Device device) const {
  if (device == torch::kCPU && (!shift.defined() || shift.device() == device)) return *this;
  Batch b = *this;
  for (torch::Tensor* t : {&b.atom_type, &b.position_code, &b.block_type, &b.atom_block, &b.is_global, &b.receiver,
                           &b.sender, &b.edge_type, &b.shift, &b.enveloped, &b.self_pair, &b.row_start, &b.row_pairs, &b.reverse_pair, &b.real_segment, &b.unwrap,
                           &b.segment_size, &b.block_size, &b.block_complex, &b.block_segment})
    if (t->defined()) *t = t->to(device);
  return b;
}

Batch make_batch(const std::vector<const Complex*>& complexes, const std::vector<const Graph*>& graphs,
                 torch::Dtype dtype) {
  if (complexes.size() != graphs.size() || complexes.empty())
    throw InputError("make_batch needs one graph per complex and at least one complex");
  Batch b;
  b.num_complexes = static_cast<int64_t>(complexes.size());
  for (size_t c = 0; c < complexes.size(); ++c) {
    if (graphs[c]->num_real != complexes[c]->num_atoms())
      throw InputError("complex " + std::to_string(c) + ": its graph was built for another molecule");
    b.num_real += complexes[c]->num_atoms();
    b.num_real_blocks += complexes[c]->num_blocks();
    b.num_segments += complexes[c]->num_segments;
  }
  b.num_atoms = b.num_real + b.num_segments;
  b.num_blocks = b.num_real_blocks + b.num_segments;

  std::vector<int64_t> atom_type(b.num_atoms), position(b.num_atoms), block_type(b.num_atoms), atom_block(b.num_atoms);
  std::vector<int64_t> real_segment(b.num_real), block_complex(b.num_blocks), block_segment(b.num_blocks);
  std::vector<double> block_size(b.num_blocks, 0.0), segment_size(b.num_segments, 0.0), unwrap;
  std::vector<int64_t> receiver, sender, edge_type;
  std::vector<double> shift, enveloped;
  unwrap.reserve(3 * b.num_real);

  int64_t atom0 = 0, block0 = 0, segment0 = 0;  // offsets of this complex among real atoms / blocks / segments
  for (size_t c = 0; c < complexes.size(); ++c) {
    const Complex& x = *complexes[c];
    const Graph& g = *graphs[c];
    const int64_t n = x.num_atoms();
    // Index of local atom k (real < n, global >= n) in the batch.
    auto atom_index = [&](int64_t k) { return k < n ? atom0 + k : b.num_real + segment0 + (k - n); };
    for (int64_t i = 0; i < n; ++i) {
      const int64_t blk = block0 + x.atom_block[i];
      atom_type[atom0 + i] = x.atom_type[i];
      position[atom0 + i] = x.position_code[i];
      block_type[atom0 + i] = x.block_type[x.atom_block[i]];
      atom_block[atom0 + i] = blk;
      real_segment[atom0 + i] = segment0 + x.block_segment[x.atom_block[i]];
      block_size[blk] += 1;
      segment_size[real_segment[atom0 + i]] += 1;
    }
    unwrap.insert(unwrap.end(), g.unwrap.begin(), g.unwrap.end());
    for (int64_t blk = 0; blk < x.num_blocks(); ++blk) {
      block_complex[block0 + blk] = static_cast<int64_t>(c);
      block_segment[block0 + blk] = segment0 + x.block_segment[blk];
    }
    for (int64_t s = 0; s < x.num_segments; ++s) {
      const int64_t a = b.num_real + segment0 + s, blk = b.num_real_blocks + segment0 + s;
      atom_type[a] = vocab::kAtomGlobal;
      position[a] = vocab::kPosGlobal;
      block_type[a] = vocab::kBlockGlobal;
      atom_block[a] = blk;
      block_size[blk] = 1;
      block_complex[blk] = static_cast<int64_t>(c);
      block_segment[blk] = segment0 + s;
    }
    for (int64_t p = 0; p < g.num_pairs(); ++p) {
      receiver.push_back(atom_index(g.receiver[p]));
      sender.push_back(atom_index(g.sender[p]));
      edge_type.push_back(g.edge_type[p]);
      enveloped.push_back(g.enveloped[p]);
      shift.insert(shift.end(), g.shift.begin() + 3 * p, g.shift.begin() + 3 * p + 3);
    }
    atom0 += n;
    block0 += x.num_blocks();
    segment0 += x.num_segments;
  }
  const int64_t num_pairs = static_cast<int64_t>(receiver.size());
  std::vector<int64_t> self_pair(b.num_atoms, -1);
  for (int64_t p = 0; p < num_pairs; ++p)
    if (receiver[p] == sender[p]) self_pair[receiver[p]] = p;
  for (int64_t a = 0; a < b.num_atoms; ++a)
    if (self_pair[a] < 0) throw InputError("atom " + std::to_string(a) + " of the batch has no self pair in its graph");
  // Rows by a stable counting sort on the receiver: within a row, pairs keep the graph's order, which is by
  // sender (a complex's real atoms and global atoms each keep their order in the batch).
  std::vector<int64_t> row_start(b.num_atoms + 1, 0), row_pairs(num_pairs), reverse(num_pairs, -1);
  for (int64_t p = 0; p < num_pairs; ++p) ++row_start[receiver[p] + 1];
  for (int64_t a = 0; a < b.num_atoms; ++a) row_start[a + 1] += row_start[a];
  {
    std::vector<int64_t> next(row_start.begin(), row_start.end() - 1);
    for (int64_t p = 0; p < num_pairs; ++p) row_pairs[next[receiver[p]]++] = p;
  }
  for (int64_t p = 0; p < num_pairs; ++p) {
    const int64_t i = receiver[p], j = sender[p];
    const auto first = row_pairs.begin() + row_start[j], last = row_pairs.begin() + row_start[j + 1];
    const auto it = std::lower_bound(first, last, i, [&](int64_t q, int64_t value) { return sender[q] < value; });
    if (it == last || sender[*it] != i)
      throw InputError("the graph is not symmetric: pair (" + std::to_string(i) + ", " + std::to_string(j) +
                       ") has no reverse");
    reverse[p] = *it;
  }
  b.row_start = int_tensor(row_start);
  b.row_pairs = int_tensor(row_pairs);
  b.reverse_pair = int_tensor(reverse);
  b.atom_type = int_tensor(atom_type);
  b.position_code = int_tensor(position);
  b.block_type = int_tensor(block_type);
  b.atom_block = int_tensor(atom_block);
  b.is_global = torch::arange(b.num_atoms) >= b.num_real;
  b.receiver = int_tensor(receiver);
  b.sender = int_tensor(sender);
  b.edge_type = int_tensor(edge_type);
  b.shift = real_tensor(shift, {num_pairs, 3}, dtype);
  b.enveloped = real_tensor(enveloped, {num_pairs}, dtype);
  b.self_pair = int_tensor(self_pair);
  b.real_segment = int_tensor(real_segment);
  b.unwrap = real_tensor(unwrap, {b.num_real, 3}, dtype);
  b.segment_size = real_tensor(segment_size, {b.num_segments}, dtype);
  b.block_size = real_tensor(block_size, {b.num_blocks}, dtype);
  b.block_complex = int_tensor(block_complex);
  b.block_segment = int_tensor(block_segment);
  return b;
}

}  // namespace ept
