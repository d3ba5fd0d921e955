#include "ept/model/fused.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ept/error.h"

namespace ept::fused {

// The kernels, compiled for baseline x86-64 and, where GCC can target single functions, again for AVX2 + FMA;
// EPT_KERNEL(name) picks the variant this processor runs.
namespace kernels {
constexpr int64_t kMaxHeads = 16;
struct Rows {
  const int64_t *start, *pairs, *reverse, *receiver, *sender;
};
template <typename T>
struct Attention {
  int64_t heads, dq, dh;
  T scale;
  const T *Q, *K, *C, *W, *Sv, *Vv;
};
namespace baseline {
#include "fused_kernels.inc"
}  // namespace baseline
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
#include "fused_kernels.inc"
}  // namespace avx2
#pragma GCC pop_options
inline bool use_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#define EPT_KERNEL(name) (kernels::use_avx2() ? kernels::avx2::name : kernels::baseline::name)
#else
#define EPT_KERNEL(name) kernels::baseline::name
#endif
}  // namespace kernels

namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Pairs of receiver i: row_pairs[row_start[i] .. row_start[i+1]); reverse[p] is the pair (j, i) of p = (i, j).
using kernels::Rows;
Rows rows_of(const std::vector<Tensor>& t) {
  return {t[0].data_ptr<int64_t>(), t[1].data_ptr<int64_t>(), t[2].data_ptr<int64_t>(), t[3].data_ptr<int64_t>(),
          t[4].data_ptr<int64_t>()};
}
std::vector<Tensor> row_tensors(const Batch& b) {
  if (!b.row_start.defined()) throw Error("fused evaluation needs a batch made by make_batch (no pair rows)");
  return {b.row_start, b.row_pairs, b.reverse_pair, b.receiver, b.sender};
}
Tensor row_tensor(AutogradContext* ctx, const char* name) { return ctx->saved_data[name].toTensor(); }
void save_rows(AutogradContext* ctx, const std::vector<Tensor>& rows) {
  const char* names[] = {"row_start", "row_pairs", "reverse", "receiver", "sender"};
  for (size_t k = 0; k < rows.size(); ++k) ctx->saved_data[names[k]] = rows[k];
}
std::vector<Tensor> saved_rows(AutogradContext* ctx) {
  return {row_tensor(ctx, "row_start"), row_tensor(ctx, "row_pairs"), row_tensor(ctx, "reverse"),
          row_tensor(ctx, "receiver"), row_tensor(ctx, "sender")};
}

void check_once_differentiable(const char* what) {
  if (torch::GradMode::is_enabled())
    throw Error(std::string("the fused ") + what +
                " is differentiable once; for second derivatives (forces in a loss) evaluate the model with "
                "set_fused(false)");
}

template <typename T>
void parallel_rows(int64_t n, int64_t grain, const T& body) {
  at::parallel_for(0, n, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) body(i);
  });
}

// ----------------------------------------------------------------------------------------------------------------
// Pair geometry: r_ij, |r_ij|, radial basis ρ(|r|) and envelope weight per pair.

// u(s) and du/ds for s ≥ 0 (zero beyond 1).
template <typename S>
inline void envelope_and_slope(S s, S& u, S& du) {
  const S c = std::min<S>(s, S(1));
  const S c4 = c * c * c * c, c5 = c4 * c;
  u = S(1) - 21 * c5 + 35 * c5 * c - 15 * c5 * c * c;
  du = s < S(1) ? S(-105) * c4 * (S(1) - c) * (S(1) - c) : S(0);
}

struct PairGeometryFn : torch::autograd::Function<PairGeometryFn> {
  static variable_list forward(AutogradContext* ctx, Tensor positions, Tensor shift, Tensor enveloped,
                               std::vector<Tensor> rows, double cutoff, int64_t K) {
    RECORD_FUNCTION("ept::fused::pair_geometry", std::vector<c10::IValue>());  // named in profiles
    positions = positions.contiguous();
    const int64_t P = shift.size(0);
    auto vector = torch::empty({P, 3}, positions.options());
    auto distance = torch::empty({P}, positions.options());
    auto basis = torch::empty({P, K}, positions.options());
    auto weight = torch::empty({P}, positions.options());
    const Rows r = rows_of(rows);
    AT_DISPATCH_FLOATING_TYPES(positions.scalar_type(), "fused_pair_geometry", [&] {
      const scalar_t *x = positions.data_ptr<scalar_t>(), *sh = shift.data_ptr<scalar_t>(),
                     *env = enveloped.data_ptr<scalar_t>();
      scalar_t *vec = vector.data_ptr<scalar_t>(), *dist = distance.data_ptr<scalar_t>(),
               *rho = basis.data_ptr<scalar_t>(), *wt = weight.data_ptr<scalar_t>();
      const scalar_t width = scalar_t(1.0 / static_cast<double>(K - 1));
      parallel_rows(P, 256, [&](int64_t p) {
        const int64_t i = r.receiver[p], j = r.sender[p];
        scalar_t d2 = 0;
        for (int k = 0; k < 3; ++k) {
          const scalar_t v = x[3 * i + k] - x[3 * j + k] + sh[3 * p + k];
          vec[3 * p + k] = v;
          d2 += v * v;
        }
        const scalar_t d = std::sqrt(std::max<scalar_t>(d2, scalar_t(1e-20)));
        dist[p] = d;
        const scalar_t s = d / scalar_t(cutoff);
        scalar_t u, du;
        envelope_and_slope(s, u, du);
        for (int64_t k = 0; k < K; ++k) {
          const scalar_t z = (s - scalar_t(k) * width) / width;
          rho[p * K + k] = u * std::exp(scalar_t(-0.5) * z * z);
        }
        wt[p] = env[p] != 0 ? u : scalar_t(1);
      });
    });
    ctx->save_for_backward({vector, distance, enveloped});
    save_rows(ctx, rows);
    ctx->saved_data["cutoff"] = cutoff;
    ctx->saved_data["K"] = K;
    return {vector, distance, basis, weight};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    check_once_differentiable("pair geometry");
    const auto saved = ctx->get_saved_variables();
    const Tensor &vector = saved[0], &distance = saved[1], &enveloped = saved[2];
    const auto rows = saved_rows(ctx);
    const Rows r = rows_of(rows);
    const double cutoff = ctx->saved_data["cutoff"].toDouble();
    const int64_t K = ctx->saved_data["K"].toInt(), P = vector.size(0), A = rows[0].size(0) - 1;
    const Tensor gvec = grads[0].contiguous(), gdist = grads[1].contiguous(), gbasis = grads[2].contiguous(),
                 gweight = grads[3].contiguous();
    auto gx = torch::empty({P, 3}, vector.options());  // ∂L/∂r_ij
    auto gpos = torch::empty({A, 3}, vector.options());
    AT_DISPATCH_FLOATING_TYPES(vector.scalar_type(), "fused_pair_geometry_backward", [&] {
      const scalar_t *vec = vector.data_ptr<scalar_t>(), *dist = distance.data_ptr<scalar_t>(),
                     *env = enveloped.data_ptr<scalar_t>(), *gv = gvec.data_ptr<scalar_t>(),
                     *gd = gdist.data_ptr<scalar_t>(), *gb = gbasis.data_ptr<scalar_t>(),
                     *gw = gweight.data_ptr<scalar_t>();
      scalar_t *out = gx.data_ptr<scalar_t>(), *gp = gpos.data_ptr<scalar_t>();
      const scalar_t width = scalar_t(1.0 / static_cast<double>(K - 1)), rc = scalar_t(cutoff);
      parallel_rows(P, 256, [&](int64_t p) {
        const scalar_t d = dist[p], s = d / rc;
        scalar_t u, du;
        envelope_and_slope(s, u, du);
        scalar_t gs = env[p] != 0 ? gw[p] * du : scalar_t(0);  // ∂L/∂s
        for (int64_t k = 0; k < K; ++k) {
          const scalar_t z = (s - scalar_t(k) * width) / width, e = std::exp(scalar_t(-0.5) * z * z);
          gs += gb[p * K + k] * e * (du - u * z / width);
        }
        const scalar_t gr = gd[p] + gs / rc;
        const scalar_t d2 = vec[3 * p] * vec[3 * p] + vec[3 * p + 1] * vec[3 * p + 1] + vec[3 * p + 2] * vec[3 * p + 2];
        const scalar_t radial = d2 > scalar_t(1e-20) ? gr / d : scalar_t(0);  // the clamp has zero slope below
        for (int k = 0; k < 3; ++k) out[3 * p + k] = gv[3 * p + k] + radial * vec[3 * p + k];
      });
      // x_i gains ∂L/∂r_ij from its pairs as receiver and loses ∂L/∂r_ji from its pairs as sender.
      parallel_rows(A, 64, [&](int64_t a) {
        scalar_t acc[3] = {0, 0, 0};
        for (int64_t n = r.start[a]; n < r.start[a + 1]; ++n) {
          const int64_t p = r.pairs[n], q = r.reverse[p];
          for (int k = 0; k < 3; ++k) acc[k] += out[3 * p + k] - out[3 * q + k];
        }
        for (int k = 0; k < 3; ++k) gp[3 * a + k] = acc[k];
      });
    });
    return {gpos, Tensor(), Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

// ----------------------------------------------------------------------------------------------------------------
// Kernels: the loops of fused_kernels.inc, per thread over a range of atoms.

// Runs body(begin, end) over the atoms [0, A) on LibTorch's intra-op threads.
template <typename F>
void over_atoms(int64_t A, const F& body) {
  at::parallel_for(0, A, 8, body);
}

// ----------------------------------------------------------------------------------------------------------------
// Edge input of the embedding.

struct EdgeInputFn : torch::autograd::Function<EdgeInputFn> {
  static variable_list forward(AutogradContext* ctx, Tensor R, Tensor S, Tensor E, std::vector<Tensor> rows) {
    RECORD_FUNCTION("ept::fused::edge_input", std::vector<c10::IValue>());  // named in profiles
    R = R.contiguous(), S = S.contiguous(), E = E.contiguous();
    const int64_t A = R.size(0), d = R.size(1);
    auto F = torch::empty_like(E);
    const Rows r = rows_of(rows);
    AT_DISPATCH_FLOATING_TYPES(R.scalar_type(), "fused_edge_input", [&] {
      over_atoms(A, [&](int64_t b, int64_t e) {
        EPT_KERNEL(edge_input_forward<scalar_t>)(r, d, R.data_ptr<scalar_t>(), S.data_ptr<scalar_t>(),
                                                 E.data_ptr<scalar_t>(), F.data_ptr<scalar_t>(), b, e);
      });
    });
    ctx->save_for_backward({F});
    save_rows(ctx, rows);
    return {torch::silu(F)};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    check_once_differentiable("edge input");
    const Tensor F = ctx->get_saved_variables()[0];
    const auto rows = saved_rows(ctx);
    const Rows r = rows_of(rows);
    const Tensor gE = at::silu_backward(grads[0].contiguous(), F);  // ∂L/∂f = ∂L/∂E
    const int64_t A = rows[0].size(0) - 1, d = F.size(1);
    auto gR = torch::empty({A, d}, F.options()), gS = torch::empty({A, d}, F.options());
    AT_DISPATCH_FLOATING_TYPES(F.scalar_type(), "fused_edge_input_backward", [&] {
      over_atoms(A, [&](int64_t b, int64_t e) {
        EPT_KERNEL(edge_input_backward_receivers<scalar_t>)(r, d, gE.data_ptr<scalar_t>(), gR.data_ptr<scalar_t>(),
                                                            b, e);
      });
      over_atoms(A, [&](int64_t b, int64_t e) {
        EPT_KERNEL(edge_input_backward_senders<scalar_t>)(r, d, gE.data_ptr<scalar_t>(), gS.data_ptr<scalar_t>(), b, e);
      });
    });
    return {gR, gS, gE, Tensor()};
  }
};

// ----------------------------------------------------------------------------------------------------------------
// Attention.

template <typename S>
kernels::Attention<S> attention_args(const Tensor& q, const Tensor& k, const Tensor& c, const Tensor& w,
                                     const Tensor& s, const Tensor& v, double scale) {
  return {q.size(1), q.size(2), s.size(2), S(scale), q.data_ptr<S>(), k.data_ptr<S>(), c.data_ptr<S>(),
          w.data_ptr<S>(), s.data_ptr<S>(), v.data_ptr<S>()};
}

struct AttentionFn : torch::autograd::Function<AttentionFn> {
  static variable_list forward(AutogradContext* ctx, Tensor q, Tensor k, Tensor c, Tensor w, Tensor s, Tensor v,
                               std::vector<Tensor> rows, double scale) {
    RECORD_FUNCTION("ept::fused::attention", std::vector<c10::IValue>());  // named in profiles
    q = q.contiguous(), k = k.contiguous(), c = c.contiguous(), w = w.contiguous(), s = s.contiguous(),
    v = v.contiguous();
    const int64_t A = q.size(0), H = q.size(1), dh = s.size(2), P = c.size(0);
    if (H > kernels::kMaxHeads)
      throw Error("fused attention takes at most " + std::to_string(kernels::kMaxHeads) + " heads, got " +
                  std::to_string(H));
    auto so = torch::empty({A, H, dh}, s.options());
    auto vo = torch::empty({A, 3, H, dh}, s.options());
    auto beta = torch::empty({P, H}, s.options());  // e^{logit − max} / Σ w e^{…}: α = β · w
    auto top = torch::empty({A, H}, s.options());   // each receiver's largest logit per head
    const Rows r = rows_of(rows);
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "fused_attention", [&] {
      const auto args = attention_args<scalar_t>(q, k, c, w, s, v, scale);
      over_atoms(A, [&](int64_t b, int64_t e) {
        EPT_KERNEL(attention_logits<scalar_t>)(r, args, beta.data_ptr<scalar_t>(), top.data_ptr<scalar_t>(), b, e);
      });
      beta.sub_(top.index_select(0, rows[3])).exp_();  // LibTorch's vectorised exp
      over_atoms(A, [&](int64_t b, int64_t e) {
        EPT_KERNEL(attention_aggregate<scalar_t>)(r, args, beta.data_ptr<scalar_t>(), so.data_ptr<scalar_t>(),
                                                  vo.data_ptr<scalar_t>(), b, e);
      });
    });
    ctx->save_for_backward({q, k, c, w, s, v, beta});
    save_rows(ctx, rows);
    ctx->saved_data["scale"] = scale;
    return {so, vo};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    check_once_differentiable("attention");
    const auto saved = ctx->get_saved_variables();
    const Tensor &q = saved[0], &k = saved[1], &c = saved[2], &w = saved[3], &s = saved[4], &v = saved[5],
                 &beta = saved[6];
    const auto rows = saved_rows(ctx);
    const Rows r = rows_of(rows);
    const double scale = ctx->saved_data["scale"].toDouble();
    const Tensor gso = grads[0].contiguous(), gvo = grads[1].contiguous();
    const int64_t A = q.size(0), H = q.size(1), P = w.size(0);
    auto gq = torch::empty_like(q), gk = torch::empty_like(k), gs = torch::empty_like(s), gv = torch::empty_like(v);
    auto gc = torch::empty({P}, w.options()), gw = torch::empty({P}, w.options());
    auto glogit = torch::empty({P, H}, w.options());
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "fused_attention_backward", [&] {
      const auto args = attention_args<scalar_t>(q, k, c, w, s, v, scale);
      const scalar_t *B = beta.data_ptr<scalar_t>(), *GSO = gso.data_ptr<scalar_t>(), *GVO = gvo.data_ptr<scalar_t>();
      over_atoms(A, [&](int64_t b, int64_t e) {
        EPT_KERNEL(attention_backward_receivers<scalar_t>)(r, args, B, GSO, GVO, glogit.data_ptr<scalar_t>(),
                                                           gc.data_ptr<scalar_t>(), gw.data_ptr<scalar_t>(),
                                                           gq.data_ptr<scalar_t>(), b, e);
      });
      over_atoms(A, [&](int64_t b, int64_t e) {
        EPT_KERNEL(attention_backward_senders<scalar_t>)(r, args, B, GSO, GVO, glogit.data_ptr<scalar_t>(),
                                                         gk.data_ptr<scalar_t>(), gs.data_ptr<scalar_t>(),
                                                         gv.data_ptr<scalar_t>(), b, e);
      });
    });
    return {gq, gk, gc, gw, gs, gv, Tensor(), Tensor()};
  }
};

// ----------------------------------------------------------------------------------------------------------------
// Embedding messages.

struct MessagesFn : torch::autograd::Function<MessagesFn> {
  static variable_list forward(AutogradContext* ctx, Tensor ag, Tensor w, Tensor h, Tensor rvec,
                               std::vector<Tensor> rows, double norm, int64_t num_real) {
    RECORD_FUNCTION("ept::fused::messages", std::vector<c10::IValue>());  // named in profiles
    ag = ag.contiguous(), h = h.contiguous(), rvec = rvec.contiguous();
    w = (w / norm).contiguous();  // the pair weight with the message norm folded in
    const int64_t A = h.size(0), d = h.size(1);
    auto message = torch::empty({A, d}, h.options());
    auto V = torch::empty({A, 3, d}, h.options());
    const Rows r = rows_of(rows);
    AT_DISPATCH_FLOATING_TYPES(h.scalar_type(), "fused_messages", [&] {
      over_atoms(A, [&](int64_t b, int64_t e) {
        EPT_KERNEL(messages_forward<scalar_t>)(r, d, num_real, ag.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(),
                                               h.data_ptr<scalar_t>(), rvec.data_ptr<scalar_t>(),
                                               message.data_ptr<scalar_t>(), V.data_ptr<scalar_t>(), b, e);
      });
    });
    ctx->save_for_backward({ag, w, h, rvec});
    save_rows(ctx, rows);
    ctx->saved_data["norm"] = norm;
    ctx->saved_data["num_real"] = num_real;
    return {message, V};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    check_once_differentiable("embedding");
    const auto saved = ctx->get_saved_variables();
    const Tensor &ag = saved[0], &w = saved[1], &h = saved[2], &rvec = saved[3];
    const auto rows = saved_rows(ctx);
    const Rows r = rows_of(rows);
    const double norm = ctx->saved_data["norm"].toDouble();
    const int64_t num_real = ctx->saved_data["num_real"].toInt();
    const Tensor gm = grads[0].contiguous(), gV = grads[1].contiguous();
    const int64_t A = h.size(0), d = h.size(1);
    auto gag = torch::empty_like(ag), gw = torch::empty_like(w), gh = torch::empty_like(h),
         gr = torch::empty_like(rvec);
    AT_DISPATCH_FLOATING_TYPES(h.scalar_type(), "fused_messages_backward", [&] {
      const scalar_t *AG = ag.data_ptr<scalar_t>(), *W = w.data_ptr<scalar_t>(), *GM = gm.data_ptr<scalar_t>();
      over_atoms(A, [&](int64_t b, int64_t e) {
        EPT_KERNEL(messages_backward_pairs<scalar_t>)(r, d, num_real, AG, W, h.data_ptr<scalar_t>(),
                                                      rvec.data_ptr<scalar_t>(), GM, gV.data_ptr<scalar_t>(),
                                                      gag.data_ptr<scalar_t>(), gw.data_ptr<scalar_t>(),
                                                      gr.data_ptr<scalar_t>(), b, e);
      });
      over_atoms(A, [&](int64_t b, int64_t e) {
        EPT_KERNEL(messages_backward_senders<scalar_t>)(r, d, AG, W, GM, gh.data_ptr<scalar_t>(), b, e);
      });
    });
    // w entered divided by the norm.
    return {gag, gw / norm, gh, gr, Tensor(), Tensor(), Tensor()};
  }
};

void check_cpu(const Tensor& t, const char* what) {
  if (!t.device().is_cpu()) throw Error(std::string("fused evaluation runs on the CPU; ") + what + " is not");
}

}  // namespace

PairGeometry pair_geometry(const Batch& batch, const torch::Tensor& positions, double cutoff, int64_t num_basis) {
  check_cpu(positions, "the positions tensor");
  const auto out = PairGeometryFn::apply(positions, batch.shift.to(positions.scalar_type()),
                                         batch.enveloped.to(positions.scalar_type()), row_tensors(batch), cutoff,
                                         num_basis);
  return {out[0], out[1], out[2], out[3]};
}

std::pair<torch::Tensor, torch::Tensor> attention(const Batch& batch, const torch::Tensor& q, const torch::Tensor& k,
                                                  const torch::Tensor& c, const torch::Tensor& w,
                                                  const torch::Tensor& s, const torch::Tensor& v, double scale) {
  check_cpu(q, "the query tensor");
  const auto out = AttentionFn::apply(q, k, c, w, s, v, row_tensors(batch), scale);
  return {out[0], out[1]};
}

torch::Tensor edge_input(const Batch& batch, const torch::Tensor& R, const torch::Tensor& S, const torch::Tensor& E) {
  check_cpu(R, "the receiver projection");
  return EdgeInputFn::apply(R, S, E, row_tensors(batch))[0];
}

std::pair<torch::Tensor, torch::Tensor> messages(const Batch& batch, const torch::Tensor& ag, const torch::Tensor& w,
                                                 const torch::Tensor& H, const torch::Tensor& r, double norm) {
  check_cpu(H, "the feature tensor");
  const auto out = MessagesFn::apply(ag, w, H, r, row_tensors(batch), norm, batch.num_real);
  return {out[0], out[1]};
}

}  // namespace ept::fused
