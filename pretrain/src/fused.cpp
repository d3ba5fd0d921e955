#include "ept/fused.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ept/error.h"

namespace ept::fused {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Pairs of receiver i: row_pairs[row_start[i] .. row_start[i+1]); reverse[p] is the pair (j, i) of p = (i, j).
struct Rows {
  const int64_t *start, *pairs, *reverse, *receiver, *sender;
  explicit Rows(const std::vector<Tensor>& t)
      : start(t[0].data_ptr<int64_t>()), pairs(t[1].data_ptr<int64_t>()), reverse(t[2].data_ptr<int64_t>()),
        receiver(t[3].data_ptr<int64_t>()), sender(t[4].data_ptr<int64_t>()) {}
};
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
    positions = positions.contiguous();
    const int64_t P = shift.size(0);
    auto vector = torch::empty({P, 3}, positions.options());
    auto distance = torch::empty({P}, positions.options());
    auto basis = torch::empty({P, K}, positions.options());
    auto weight = torch::empty({P}, positions.options());
    const Rows r(rows);
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
    const Rows r(rows);
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
// Attention.

struct AttentionFn : torch::autograd::Function<AttentionFn> {
  static variable_list forward(AutogradContext* ctx, Tensor q, Tensor k, Tensor c, Tensor w, Tensor s, Tensor v,
                               std::vector<Tensor> rows, double scale) {
    q = q.contiguous(), k = k.contiguous(), c = c.contiguous(), w = w.contiguous(), s = s.contiguous(),
    v = v.contiguous();
    const int64_t A = q.size(0), H = q.size(1), dq = q.size(2), dh = s.size(2), P = c.size(0);
    auto so = torch::empty({A, H, dh}, s.options());
    auto vo = torch::empty({A, 3, H, dh}, s.options());
    auto beta = torch::empty({P, H}, s.options());  // e^{logit − max} / Σ w e^{…}: α = β · w
    const Rows r(rows);
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "fused_attention", [&] {
      const scalar_t *Q = q.data_ptr<scalar_t>(), *Kp = k.data_ptr<scalar_t>(), *C = c.data_ptr<scalar_t>(),
                     *W = w.data_ptr<scalar_t>(), *Sv = s.data_ptr<scalar_t>(), *Vv = v.data_ptr<scalar_t>();
      scalar_t *SO = so.data_ptr<scalar_t>(), *VO = vo.data_ptr<scalar_t>(), *B = beta.data_ptr<scalar_t>();
      const scalar_t sc = scalar_t(scale);
      at::parallel_for(0, A, 16, [&](int64_t begin, int64_t end) {
        std::vector<scalar_t> logit;
        for (int64_t i = begin; i < end; ++i) {
          const int64_t n0 = r.start[i], n1 = r.start[i + 1];
          logit.resize(n1 - n0);
          std::fill(SO + i * H * dh, SO + (i + 1) * H * dh, scalar_t(0));
          std::fill(VO + i * 3 * H * dh, VO + (i + 1) * 3 * H * dh, scalar_t(0));
          for (int64_t m = 0; m < H; ++m) {
            const scalar_t* qi = Q + (i * H + m) * dq;
            scalar_t top = -std::numeric_limits<scalar_t>::infinity();
            for (int64_t n = n0; n < n1; ++n) {
              const int64_t p = r.pairs[n];
              const scalar_t* kj = Kp + (r.sender[p] * H + m) * dq;
              scalar_t dot = 0;
              for (int64_t t = 0; t < dq; ++t) dot += qi[t] * kj[t];
              logit[n - n0] = sc * dot + C[p];
              top = std::max(top, logit[n - n0]);
            }
            scalar_t den = 0;
            for (int64_t n = n0; n < n1; ++n) {
              logit[n - n0] = std::exp(logit[n - n0] - top);
              den += logit[n - n0] * W[r.pairs[n]];
            }
            scalar_t* so_i = SO + (i * H + m) * dh;
            for (int64_t n = n0; n < n1; ++n) {
              const int64_t p = r.pairs[n], j = r.sender[p];
              const scalar_t b = logit[n - n0] / den, a = b * W[p];
              B[p * H + m] = b;
              if (a == scalar_t(0)) continue;
              const scalar_t* sj = Sv + (j * H + m) * dh;
              for (int64_t t = 0; t < dh; ++t) so_i[t] += a * sj[t];
              for (int x = 0; x < 3; ++x) {
                const scalar_t* vj = Vv + ((j * 3 + x) * H + m) * dh;
                scalar_t* vo_i = VO + ((i * 3 + x) * H + m) * dh;
                for (int64_t t = 0; t < dh; ++t) vo_i[t] += a * vj[t];
              }
            }
          }
        }
      });
    });
    ctx->save_for_backward({q, k, w, s, v, beta});
    save_rows(ctx, rows);
    ctx->saved_data["scale"] = scale;
    return {so, vo};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    check_once_differentiable("attention");
    const auto saved = ctx->get_saved_variables();
    const Tensor &q = saved[0], &k = saved[1], &w = saved[2], &s = saved[3], &v = saved[4], &beta = saved[5];
    const auto rows = saved_rows(ctx);
    const Rows r(rows);
    const double scale = ctx->saved_data["scale"].toDouble();
    const Tensor gso = grads[0].contiguous(), gvo = grads[1].contiguous();
    const int64_t A = q.size(0), H = q.size(1), dq = q.size(2), dh = s.size(2), P = w.size(0);
    auto gq = torch::empty_like(q), gk = torch::empty_like(k), gs = torch::empty_like(s), gv = torch::empty_like(v);
    auto gc = torch::empty({P}, w.options()), gw = torch::empty({P}, w.options());
    auto glogit = torch::empty({P, H}, w.options());
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "fused_attention_backward", [&] {
      const scalar_t *Q = q.data_ptr<scalar_t>(), *Kp = k.data_ptr<scalar_t>(), *W = w.data_ptr<scalar_t>(),
                     *Sv = s.data_ptr<scalar_t>(), *Vv = v.data_ptr<scalar_t>(), *B = beta.data_ptr<scalar_t>(),
                     *GSO = gso.data_ptr<scalar_t>(), *GVO = gvo.data_ptr<scalar_t>();
      scalar_t *GQ = gq.data_ptr<scalar_t>(), *GK = gk.data_ptr<scalar_t>(), *GS = gs.data_ptr<scalar_t>(),
               *GV = gv.data_ptr<scalar_t>(), *GC = gc.data_ptr<scalar_t>(), *GW = gw.data_ptr<scalar_t>(),
               *GL = glogit.data_ptr<scalar_t>();
      const scalar_t sc = scalar_t(scale);
      // Receivers: ∂L/∂α, the softmax's backward, ∂L/∂q, ∂L/∂c and ∂L/∂w.
      at::parallel_for(0, A, 16, [&](int64_t begin, int64_t end) {
        std::vector<scalar_t> da;
        for (int64_t i = begin; i < end; ++i) {
          const int64_t n0 = r.start[i], n1 = r.start[i + 1];
          da.resize((n1 - n0) * H);
          for (int64_t n = n0; n < n1; ++n) GC[r.pairs[n]] = 0, GW[r.pairs[n]] = 0;
          for (int64_t m = 0; m < H; ++m) {
            const scalar_t* gso_i = GSO + (i * H + m) * dh;
            scalar_t mean = 0;  // Σ_j α_ij ∂L/∂α_ij
            for (int64_t n = n0; n < n1; ++n) {
              const int64_t p = r.pairs[n], j = r.sender[p];
              const scalar_t* sj = Sv + (j * H + m) * dh;
              scalar_t dot = 0;
              for (int64_t t = 0; t < dh; ++t) dot += gso_i[t] * sj[t];
              for (int x = 0; x < 3; ++x) {
                const scalar_t* vj = Vv + ((j * 3 + x) * H + m) * dh;
                const scalar_t* gvo_i = GVO + ((i * 3 + x) * H + m) * dh;
                for (int64_t t = 0; t < dh; ++t) dot += gvo_i[t] * vj[t];
              }
              da[(n - n0) * H + m] = dot;
              mean += B[p * H + m] * W[p] * dot;
            }
            scalar_t* gq_i = GQ + (i * H + m) * dq;
            std::fill(gq_i, gq_i + dq, scalar_t(0));
            for (int64_t n = n0; n < n1; ++n) {
              const int64_t p = r.pairs[n];
              const scalar_t centred = da[(n - n0) * H + m] - mean, b = B[p * H + m];
              const scalar_t gl = b * W[p] * centred;
              GL[p * H + m] = gl;
              GC[p] += gl;
              GW[p] += b * centred;
              const scalar_t* kj = Kp + (r.sender[p] * H + m) * dq;
              for (int64_t t = 0; t < dq; ++t) gq_i[t] += sc * gl * kj[t];
            }
          }
        }
      });
      // Senders: atom j collects over the pairs (i, j), reached as the reverses of its own pairs (j, i).
      at::parallel_for(0, A, 16, [&](int64_t begin, int64_t end) {
        for (int64_t j = begin; j < end; ++j) {
          std::fill(GK + j * H * dq, GK + (j + 1) * H * dq, scalar_t(0));
          std::fill(GS + j * H * dh, GS + (j + 1) * H * dh, scalar_t(0));
          std::fill(GV + j * 3 * H * dh, GV + (j + 1) * 3 * H * dh, scalar_t(0));
          for (int64_t n = r.start[j]; n < r.start[j + 1]; ++n) {
            const int64_t p = r.pairs[n], back = r.reverse[p], i = r.sender[p];  // back = (i, j)
            for (int64_t m = 0; m < H; ++m) {
              const scalar_t gl = sc * GL[back * H + m], a = B[back * H + m] * W[back];
              const scalar_t* qi = Q + (i * H + m) * dq;
              scalar_t* gk_j = GK + (j * H + m) * dq;
              for (int64_t t = 0; t < dq; ++t) gk_j[t] += gl * qi[t];
              if (a == scalar_t(0)) continue;
              const scalar_t* gso_i = GSO + (i * H + m) * dh;
              scalar_t* gs_j = GS + (j * H + m) * dh;
              for (int64_t t = 0; t < dh; ++t) gs_j[t] += a * gso_i[t];
              for (int x = 0; x < 3; ++x) {
                const scalar_t* gvo_i = GVO + ((i * 3 + x) * H + m) * dh;
                scalar_t* gv_j = GV + ((j * 3 + x) * H + m) * dh;
                for (int64_t t = 0; t < dh; ++t) gv_j[t] += a * gvo_i[t];
              }
            }
          }
        }
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
    ag = ag.contiguous(), w = w.contiguous(), h = h.contiguous(), rvec = rvec.contiguous();
    const int64_t A = h.size(0), d = h.size(1);
    auto message = torch::empty({A, d}, h.options());
    auto V = torch::empty({A, 3, d}, h.options());
    const Rows r(rows);
    AT_DISPATCH_FLOATING_TYPES(h.scalar_type(), "fused_messages", [&] {
      const scalar_t *AG = ag.data_ptr<scalar_t>(), *W = w.data_ptr<scalar_t>(), *Hp = h.data_ptr<scalar_t>(),
                     *R = rvec.data_ptr<scalar_t>();
      scalar_t *M = message.data_ptr<scalar_t>(), *Vp = V.data_ptr<scalar_t>();
      const scalar_t inv = scalar_t(1.0 / norm);
      parallel_rows(A, 16, [&](int64_t i) {
        scalar_t* m_i = M + i * d;
        scalar_t* v_i = Vp + i * 3 * d;
        std::fill(m_i, m_i + d, scalar_t(0));
        std::fill(v_i, v_i + 3 * d, scalar_t(0));
        const bool real = i < num_real;
        for (int64_t n = r.start[i]; n < r.start[i + 1]; ++n) {
          const int64_t p = r.pairs[n], j = r.sender[p];
          const scalar_t ww = W[p] * inv;
          if (ww == scalar_t(0)) continue;
          const scalar_t *a = AG + p * 2 * d, *g = a + d, *hj = Hp + j * d;
          for (int64_t t = 0; t < d; ++t) m_i[t] += ww * a[t] * hj[t];
          if (!real) continue;
          for (int x = 0; x < 3; ++x) {
            const scalar_t rx = ww * R[3 * p + x];
            for (int64_t t = 0; t < d; ++t) v_i[x * d + t] += rx * g[t];
          }
        }
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
    const Rows r(rows);
    const double norm = ctx->saved_data["norm"].toDouble();
    const int64_t num_real = ctx->saved_data["num_real"].toInt();
    const Tensor gm = grads[0].contiguous(), gV = grads[1].contiguous();
    const int64_t A = h.size(0), d = h.size(1);
    auto gag = torch::empty_like(ag), gw = torch::empty_like(w), gh = torch::empty_like(h),
         gr = torch::empty_like(rvec);
    AT_DISPATCH_FLOATING_TYPES(h.scalar_type(), "fused_messages_backward", [&] {
      const scalar_t *AG = ag.data_ptr<scalar_t>(), *W = w.data_ptr<scalar_t>(), *Hp = h.data_ptr<scalar_t>(),
                     *R = rvec.data_ptr<scalar_t>(), *GM = gm.data_ptr<scalar_t>(), *GV = gV.data_ptr<scalar_t>();
      scalar_t *GAG = gag.data_ptr<scalar_t>(), *GW = gw.data_ptr<scalar_t>(), *GH = gh.data_ptr<scalar_t>(),
               *GR = gr.data_ptr<scalar_t>();
      const scalar_t inv = scalar_t(1.0 / norm);
      parallel_rows(A, 16, [&](int64_t i) {
        const scalar_t *gm_i = GM + i * d, *gv_i = GV + i * 3 * d;
        const bool real = i < num_real;
        for (int64_t n = r.start[i]; n < r.start[i + 1]; ++n) {
          const int64_t p = r.pairs[n], j = r.sender[p];
          const scalar_t ww = W[p] * inv;
          const scalar_t *a = AG + p * 2 * d, *g = a + d, *hj = Hp + j * d, *rp = R + 3 * p;
          scalar_t *ga = GAG + p * 2 * d, *gg = ga + d;
          scalar_t dw = 0, dr[3] = {0, 0, 0};
          for (int64_t t = 0; t < d; ++t) {
            const scalar_t ah = gm_i[t] * hj[t];
            ga[t] = ww * ah;
            dw += a[t] * ah;
          }
          if (real) {
            for (int64_t t = 0; t < d; ++t) {
              const scalar_t gvr = rp[0] * gv_i[t] + rp[1] * gv_i[d + t] + rp[2] * gv_i[2 * d + t];
              gg[t] = ww * gvr;
              dw += g[t] * gvr;
              for (int x = 0; x < 3; ++x) dr[x] += g[t] * gv_i[x * d + t];
            }
          } else {
            std::fill(gg, gg + d, scalar_t(0));
          }
          GW[p] = dw * inv;
          for (int x = 0; x < 3; ++x) GR[3 * p + x] = ww * dr[x];
        }
      });
      // ∂L/∂H_j = Σ_i a_ij ⊙ ∂L/∂message_i over the pairs (i, j): the reverses of j's own pairs.
      parallel_rows(A, 16, [&](int64_t j) {
        scalar_t* gh_j = GH + j * d;
        std::fill(gh_j, gh_j + d, scalar_t(0));
        for (int64_t n = r.start[j]; n < r.start[j + 1]; ++n) {
          const int64_t p = r.pairs[n], back = r.reverse[p], i = r.sender[p];
          const scalar_t ww = W[back] * inv;
          if (ww == scalar_t(0)) continue;
          const scalar_t *a = AG + back * 2 * d, *gm_i = GM + i * d;
          for (int64_t t = 0; t < d; ++t) gh_j[t] += ww * a[t] * gm_i[t];
        }
      });
    });
    return {gag, gw, gh, gr, Tensor(), Tensor(), Tensor()};
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

std::pair<torch::Tensor, torch::Tensor> messages(const Batch& batch, const torch::Tensor& ag, const torch::Tensor& w,
                                                 const torch::Tensor& H, const torch::Tensor& r, double norm) {
  check_cpu(H, "the feature tensor");
  const auto out = MessagesFn::apply(ag, w, H, r, row_tensors(batch), norm, batch.num_real);
  return {out[0], out[1]};
}

}  // namespace ept::fused
