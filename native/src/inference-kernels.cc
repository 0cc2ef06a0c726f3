// Fused CPU kernels for inference (no autograd): RMSNorm (optionally after a residual add),
// rotary embedding, SiLU·mul, and attention for a few query rows against a KV cache.
//
// Why by hand: written with ATen ops, RMSNorm is 6 kernels, rotary 5, SwiGLU's gate 2 and a
// masked decode attention 4-6, each allocating its result and waking the OpenMP pool; at
// decoding sizes (64 rows × 768) the launches, not the arithmetic, were 25-30 % of a step (perf
// on a 100M-parameter model). Neither libtorch 1.13 nor 2.x offers fused CPU versions of all
// four (2.x's SDPA has no GQA on 1.13 and expands the mask per head). The entry points in
// ops-nn.cc call these only for CPU float32/bfloat16 tensors when autograd need not record, and
// use the composite ATen path otherwise, so gradients never depend on this file.
//
// Rounding follows the composite path: bfloat16 results are rounded where the ATen ops round
// (after each op), and reductions accumulate in float32.
#include "inference-kernels.h"
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <c10/core/GradMode.h>
#include <c10/util/BFloat16.h>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <limits>
#include <vector>
#include "vec16.h"

namespace tf {
namespace {

using namespace vec16;

// ---- RMSNorm ---------------------------------------------------------------------------------

template <typename T>
TF_INLINE void RmsNormRow(const T* x, const T* resid, const T* w, T* sumOut, T* out, int64_t n, float eps) {
  // h = x + resid (rounded as the add would), then h * rsqrt(mean(h²) + eps) * w.
  Vf ss = Vf{};
  for (int64_t i = 0; i < n; i += W) {
    const int64_t m = std::min(W, n - i);
    Vf h = LoadN(x + i, m);
    if (resid) {
      h = Round<T>(h + LoadN(resid + i, m));
      StoreN(sumOut + i, h, m);
    }
    ss += h * h;
  }
  const float inv = 1.0f / std::sqrt(HSum(ss) / static_cast<float>(n) + eps);
  const T* h = resid ? sumOut : x;
  for (int64_t i = 0; i < n; i += W) {
    const int64_t m = std::min(W, n - i);
    Vf y = Round<T>(LoadN(h + i, m) * inv);
    StoreN(out + i, w ? y * LoadN(w + i, m) : y, m);
  }
}

TF_CLONES void RmsNormRowsF32(const float* x, const float* r, const float* w, float* s, float* o, int64_t rows, int64_t n, float eps) {
  for (int64_t i = 0; i < rows; i++) RmsNormRow<float>(x + i * n, r ? r + i * n : nullptr, w, s ? s + i * n : nullptr, o + i * n, n, eps);
}
TF_CLONES void RmsNormRowsBf16(const BF16* x, const BF16* r, const BF16* w, BF16* s, BF16* o, int64_t rows, int64_t n, float eps) {
  for (int64_t i = 0; i < rows; i++) RmsNormRow<BF16>(x + i * n, r ? r + i * n : nullptr, w, s ? s + i * n : nullptr, o + i * n, n, eps);
}

// Rows per parallel task: enough work (~32k elements) to repay waking a thread.
int64_t Grain(int64_t rowLength) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, rowLength)); }

// ---- rotary embedding ------------------------------------------------------------------------

// out = x * cos + rotate_half(x) * sin over one row of D = 2 * half, rounding after each op.
template <typename T>
TF_INLINE void RotaryRow(const T* x, const T* c, const T* s, T* out, int64_t half) {
  for (int64_t i = 0; i < half; i += W) {
    const int64_t m = std::min(W, half - i);
    const Vf x1 = LoadN(x + i, m), x2 = LoadN(x + half + i, m);
    StoreN(out + i, Round<T>(x1 * LoadN(c + i, m)) + Round<T>(-x2 * LoadN(s + i, m)), m);
    StoreN(out + half + i, Round<T>(x2 * LoadN(c + half + i, m)) + Round<T>(x1 * LoadN(s + half + i, m)), m);
  }
}

struct RotaryArgs {
  int64_t H, T, D, xs0, xs1, xs2;
  bool perBatch;
};
template <typename E>
TF_INLINE void RotaryRowsT(const RotaryArgs& a, const E* xp, const E* cp, const E* sp, E* op, int64_t lo, int64_t hi) {
  for (int64_t r = lo; r < hi; r++) {
    const int64_t b = r / (a.H * a.T), h = (r / a.T) % a.H, t = r % a.T;
    const int64_t table = (a.perBatch ? b * a.T + t : t) * a.D;
    RotaryRow<E>(xp + b * a.xs0 + h * a.xs1 + t * a.xs2, cp + table, sp + table, op + r * a.D, a.D / 2);
  }
}
TF_CLONES void RotaryRowsF32(const RotaryArgs& a, const float* x, const float* c, const float* s, float* o, int64_t lo, int64_t hi) { RotaryRowsT<float>(a, x, c, s, o, lo, hi); }
TF_CLONES void RotaryRowsBf16(const RotaryArgs& a, const BF16* x, const BF16* c, const BF16* s, BF16* o, int64_t lo, int64_t hi) { RotaryRowsT<BF16>(a, x, c, s, o, lo, hi); }

template <typename E>
void RotaryImpl(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, at::Tensor& out) {
  // x (B, H, T, D) with unit last stride; cos/sin (T, D) or (B, 1, T, D), contiguous.
  const RotaryArgs a{x.size(1), x.size(2), x.size(3), x.stride(0), x.stride(1), x.stride(2), cos.dim() == 4};
  const E* xp = x.data_ptr<E>();
  const E* cp = cos.data_ptr<E>();
  const E* sp = sin.data_ptr<E>();
  E* op = out.data_ptr<E>();
  at::parallel_for(0, x.size(0) * a.H * a.T, Grain(a.D), [&](int64_t lo, int64_t hi) {
    if constexpr (std::is_same_v<E, float>) RotaryRowsF32(a, xp, cp, sp, op, lo, hi);
    else RotaryRowsBf16(a, xp, cp, sp, op, lo, hi);
  });
}

// ---- SiLU · mul ------------------------------------------------------------------------------

template <typename T>
TF_INLINE void SiluMulRow(const T* g, const T* u, T* out, int64_t n) {
  for (int64_t i = 0; i < n; i += W) {
    const int64_t m = std::min(W, n - i);
    const Vf x = LoadN(g + i, m);
    const Vf silu = Round<T>(x / (1.0f + Exp(-x)));
    StoreN(out + i, silu * LoadN(u + i, m), m);
  }
}
TF_CLONES void SiluMulRowF32(const float* g, const float* u, float* o, int64_t n) { SiluMulRow<float>(g, u, o, n); }
TF_CLONES void SiluMulRowBf16(const BF16* g, const BF16* u, BF16* o, int64_t n) { SiluMulRow<BF16>(g, u, o, n); }

// ---- attention against a cache ---------------------------------------------------------------

// One (batch, kv head) item: R query rows (the rep query heads × Lq queries sharing this kv
// head) against S keys. q is R × D float (pre-converted), scores R × S, acc R × D scratch.
// Keys and values [0, split) are read from another row's identical copy (a shared prompt prefix,
// so rows of one group read it once from memory and then from cache), [split, S) from the item's own.
struct AttentionItem {
  int64_t R, S, D, split;
  float scale;
  const float* q;
  float* scores;
  float* acc;
  float* inv;  // R: 1 / the softmax denominator of each row
};

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The head dim in 16-lane chunks is a template constant (DC = D / 16, 4 and 8 cover head dims 64
// and 128) so a key or value row and the accumulators stay in registers; other head dims use
// the DC = 0 variant, whose loops are bounded at run time.
template <int DC>
TF_INLINE int64_t Chunks(int64_t D) { return DC > 0 ? DC : (D + W - 1) / W; }
template <int DC>
TF_INLINE int64_t ChunkLen(int64_t D, int64_t c) { return DC > 0 ? W : std::min(W, D - c * W); }

// scores[r, s] = q_r · k_s * scale (+ mask[r, s]), keys at k + s * ks. For head dims of 64/128
// (DC > 0), four keys at a time: their rows stay in registers for every query row, and the four
// dot products are reduced together (HSum4), which keeps the shuffle units busy in parallel.
template <int DC, typename T>
TF_INLINE void Scores(const AttentionItem& it, const T* kShared, const T* k, int64_t ks, const float* __restrict mask) {
  const int64_t R = it.R, S = it.S, D = it.D, C = Chunks<DC>(D);
  const float scale = it.scale;
  const float* __restrict q = it.q;
  float* __restrict scores = it.scores;
  constexpr int kMax = DC > 0 ? DC : 32;  // D ≤ 512
  auto row = [&](int64_t s) { return (s < it.split ? kShared : k) + s * ks; };
  int64_t s = 0;
  if constexpr (DC > 0 && DC <= 4) {
    for (; s + 4 <= S; s += 4) {
      Vf kr[4][DC];
#pragma GCC unroll 4
      for (int j = 0; j < 4; j++)
#pragma GCC unroll 4
        for (int c = 0; c < DC; c++) kr[j][c] = LoadN(row(s + j) + c * W, W);
      for (int64_t r = 0; r < R; r++) {
        Vf acc[4] = {};
#pragma GCC unroll 4
        for (int c = 0; c < DC; c++) {
          const Vf qc = LoadN(q + r * D + c * W, W);
#pragma GCC unroll 4
          for (int j = 0; j < 4; j++) acc[j] += qc * kr[j][c];
        }
        const V4f dots = HSum4(acc[0], acc[1], acc[2], acc[3]);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) scores[r * S + s + j] = dots[j] * scale + (mask ? mask[r * S + s + j] : 0.0f);
      }
    }
  }
  for (; s < S; s++) {
    Vf kr[kMax];
#pragma GCC unroll 8
    for (int64_t c = 0; c < C; c++) kr[c] = LoadN(row(s) + c * W, ChunkLen<DC>(D, c));
    for (int64_t r = 0; r < R; r++) {
      Vf acc = Vf{};
#pragma GCC unroll 8
      for (int64_t c = 0; c < C; c++) acc += LoadN(q + r * D + c * W, ChunkLen<DC>(D, c)) * kr[c];
      scores[r * S + s] = HSum(acc) * scale + (mask ? mask[r * S + s] : 0.0f);
    }
  }
}

// exp(score - row max) in place, and 1 / Σ per row into it.inv (NaN for a row with no visible
// key, as the composite softmax gives). As in libtorch's CPU flash attention, the weights are
// rounded to the cache's dtype before they multiply the values, the sum is taken unrounded, and
// the output is divided by it at the end — so bfloat16 decode matches the training path's kernel.
template <typename T>
TF_INLINE void SoftmaxRows(const AttentionItem& it) {
  const int64_t S = it.S;
  for (int64_t r = 0; r < it.R; r++) {
    float* __restrict row = it.scores + r * S;
    Vf mv = Splat(kNegInf);
    for (int64_t s = 0; s < S; s += W) {
      const Vf v = LoadN(row + s, std::min(W, S - s), kNegInf);
      mv = v > mv ? v : mv;
    }
    const float m = HMax(mv);
    if (m == kNegInf) {
      std::fill(row, row + S, 0.0f);
      it.inv[r] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    Vf sum = Vf{};
    for (int64_t s = 0; s < S; s += W) {
      const int64_t n = std::min(W, S - s);
      const Vf v = LoadN(row + s, n, kNegInf);
      const Vf e = v == kNegInf ? Vf{} : Exp(v - m);
      StoreN(row + s, Round<T>(e), n);
      sum += e;
    }
    it.inv[r] = 1.0f / HSum(sum);
  }
}

// acc[r] = Σ_s p[r, s] · v_s, values at v + s * vs; RG rows at a time keep their sums in registers.
template <int DC, typename T>
TF_INLINE void WeightedValues(const AttentionItem& it, const T* vShared, const T* v, int64_t vs) {
  const int64_t R = it.R, S = it.S, D = it.D, C = Chunks<DC>(D);
  constexpr int RG = DC > 0 && DC <= 4 ? 4 : 2;
  constexpr int kMax = DC > 0 ? DC : 32;
  const float* __restrict p = it.scores;
  for (int64_t r0 = 0; r0 < R; r0 += RG) {
    const int64_t rows = std::min<int64_t>(RG, R - r0);
    Vf acc[RG][kMax];
    for (int j = 0; j < RG; j++)
#pragma GCC unroll 8
      for (int64_t c = 0; c < C; c++) acc[j][c] = Vf{};
    for (int64_t s = 0; s < S; s++) {
      const T* vr = (s < it.split ? vShared : v) + s * vs;
#pragma GCC unroll 8
      for (int64_t c = 0; c < C; c++) {
        const Vf x = LoadN(vr + c * W, ChunkLen<DC>(D, c));
#pragma GCC unroll 4
        for (int j = 0; j < RG; j++)
          if (j < rows) acc[j][c] += p[(r0 + j) * S + s] * x;
      }
    }
    for (int64_t j = 0; j < rows; j++)
      for (int64_t c = 0; c < C; c++) StoreN(it.acc + (r0 + j) * D + c * W, acc[j][c] * it.inv[r0 + j], ChunkLen<DC>(D, c));
  }
}

// Keys and values of one item: own rows, the shared-prefix rows, and their row strides.
template <typename T>
struct ItemKv {
  const T *kShared, *k, *vShared, *v;
  int64_t ks, vs;
};

template <int DC, typename T>
TF_INLINE void Attend(const AttentionItem& it, const ItemKv<T>& kv, const float* mask) {
  Scores<DC, T>(it, kv.kShared, kv.k, kv.ks, mask);
  SoftmaxRows<T>(it);
  WeightedValues<DC, T>(it, kv.vShared, kv.v, kv.vs);
}
template <typename T>
TF_INLINE void AttendAnyD(const AttentionItem& it, const ItemKv<T>& kv, const float* mask) {
  if (it.D == 64) Attend<4, T>(it, kv, mask);
  else if (it.D == 128) Attend<8, T>(it, kv, mask);
  else Attend<0, T>(it, kv, mask);
}
TF_CLONES void AttendF32(const AttentionItem& it, const ItemKv<float>& kv, const float* mask) { AttendAnyD<float>(it, kv, mask); }
TF_CLONES void AttendBf16(const AttentionItem& it, const ItemKv<BF16>& kv, const float* mask) { AttendAnyD<BF16>(it, kv, mask); }

template <typename T>
void CachedAttentionImpl(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask, bool causal, float scale,
                         const int64_t* prefixRows, const int64_t* prefixKeys, at::Tensor& out) {
  // q (B, H, Lq, D); k, v (B, Hkv, S, D), unit last strides; mask: bool or additive float,
  // expanded to (B, H, Lq, S) (zero strides where broadcast), or undefined; out (B, H, Lq, D).
  const int64_t B = q.size(0), H = q.size(1), Lq = q.size(2), D = q.size(3);
  const int64_t Hkv = k.size(1), S = k.size(2), rep = H / Hkv, R = rep * Lq;
  const T* qp = q.data_ptr<T>();
  const T* kp = k.data_ptr<T>();
  const T* vp = v.data_ptr<T>();
  const bool boolMask = mask.defined() && mask.scalar_type() == at::kBool;
  const float* mp = mask.defined() && !boolMask ? mask.data_ptr<float>() : nullptr;
  const bool* mb = boolMask ? mask.data_ptr<bool>() : nullptr;
  const int64_t ms0 = mask.defined() ? mask.stride(0) : 0, ms1 = mask.defined() ? mask.stride(1) : 0;
  const int64_t ms2 = mask.defined() ? mask.stride(2) : 0, ms3 = mask.defined() ? mask.stride(3) : 0;
  T* op = out.data_ptr<T>();
  auto Kv = [&](int64_t item) {
    const int64_t b = item / Hkv, g = item % Hkv, src = prefixRows ? prefixRows[b] : b;
    return ItemKv<T>{kp + src * k.stride(0) + g * k.stride(1), kp + b * k.stride(0) + g * k.stride(1),
                     vp + src * v.stride(0) + g * v.stride(1), vp + b * v.stride(0) + g * v.stride(1), k.stride(2), v.stride(2)};
  };
  at::parallel_for(0, B * Hkv, 1, [&](int64_t lo, int64_t hi) {
    std::vector<float> buf(R * D * 2 + R * S * 2 + R);
    float* qf = buf.data();
    float* acc = qf + R * D;
    float* scores = acc + R * D;
    float* maskRows = scores + R * S;
    float* inv = maskRows + R * S;
    for (int64_t item = lo; item < hi; item++) {
      const int64_t b = item / Hkv, g = item % Hkv;
      // Query rows r = j * Lq + i: head g * rep + j, query i.
      for (int64_t j = 0; j < rep; j++)
        for (int64_t i = 0; i < Lq; i++) {
          const T* src = qp + b * q.stride(0) + (g * rep + j) * q.stride(1) + i * q.stride(2);
          for (int64_t d = 0; d < D; d++) qf[(j * Lq + i) * D + d] = static_cast<float>(src[d]);
        }
      const bool masked = mp || mb || (causal && Lq > 1);
      if (masked) {
        for (int64_t j = 0; j < rep; j++)
          for (int64_t i = 0; i < Lq; i++) {
            float* row = maskRows + (j * Lq + i) * S;
            const int64_t base = b * ms0 + (g * rep + j) * ms1 + i * ms2;
            for (int64_t s = 0; s < S; s++) {
              float m = mp ? mp[base + s * ms3] : mb && !mb[base + s * ms3] ? kNegInf : 0.0f;
              // Causal, aligned to the last key: query i sees keys s ≤ S - Lq + i.
              if (causal && s > S - Lq + i) m = kNegInf;
              row[s] = m;
            }
          }
      }
      const ItemKv<T> kv = Kv(item);
      if (item + 1 < hi) {
        // The next item's own keys and values are separate blocks of the cache, cold in memory
        // after the GEMMs between layers; requesting them now overlaps their load with this item.
        const ItemKv<T> next = Kv(item + 1);
        const int64_t split = prefixKeys ? std::clamp<int64_t>(prefixKeys[(item + 1) / Hkv], 0, S) : 0;
        for (int64_t s = split; s < S; s++)
          for (int64_t d = 0; d < D; d += 64 / static_cast<int64_t>(sizeof(T))) {
            __builtin_prefetch(next.k + s * next.ks + d);
            __builtin_prefetch(next.v + s * next.vs + d);
          }
      }
      const int64_t split = prefixKeys ? std::clamp<int64_t>(prefixKeys[b], 0, S) : 0;
      AttentionItem it{R, S, D, split, scale, qf, scores, acc, inv};
      if constexpr (std::is_same_v<T, float>)
        AttendF32(it, kv, masked ? maskRows : nullptr);
      else
        AttendBf16(it, kv, masked ? maskRows : nullptr);
      for (int64_t j = 0; j < rep; j++)
        for (int64_t i = 0; i < Lq; i++) {
          T* dst = op + ((b * H + g * rep + j) * Lq + i) * D;
          for (int64_t d = 0; d < D; d++) dst[d] = static_cast<T>(acc[(j * Lq + i) * D + d]);
        }
    }
  });
}

std::atomic<int64_t> g_calls[4];  // rmsNorm, rotary, siluMul, attention
void Count(int which) { g_calls[which].fetch_add(1, std::memory_order_relaxed); }

// TORCHFORGE_FUSED_KERNELS=0 turns every fast path off (the composite ATen ops run instead), to
// compare numerics or timings; read once.
bool Enabled() {
  static const bool on = [] {
    const char* v = std::getenv("TORCHFORGE_FUSED_KERNELS");
    return v == nullptr || std::string(v) != "0";
  }();
  return on;
}

std::atomic<bool>& GenericFlag() {
  static std::atomic<bool> on{[] {
    const char* v = std::getenv("TORCHFORGE_GENERIC_KERNELS");
    return v != nullptr && std::string(v) == "1";
  }()};
  return on;
}

bool FastDType(const at::Tensor& t) { return Enabled() && !GenericKernels() && (t.scalar_type() == at::kFloat || t.scalar_type() == at::kBFloat16); }
bool NoGradNeeded(std::initializer_list<const at::Tensor*> ts) {
  if (!c10::GradMode::is_enabled()) return true;
  for (const at::Tensor* t : ts)
    if (t->defined() && t->requires_grad()) return false;
  return true;
}
bool SameCpu(const at::Tensor& a, const at::Tensor& b) { return b.device().is_cpu() && b.scalar_type() == a.scalar_type(); }

}  // namespace

bool GenericKernels() { return GenericFlag().load(std::memory_order_relaxed); }
void SetGenericKernels(bool on) { GenericFlag().store(on, std::memory_order_relaxed); }

bool FusedRmsNorm(const at::Tensor& x, const at::Tensor& residual, const at::Tensor& weight, double eps, at::Tensor* sum, at::Tensor* out) {
  if (!x.device().is_cpu() || !FastDType(x) || !NoGradNeeded({&x, &residual, &weight}) || x.dim() < 1 || x.numel() == 0) return false;
  const int64_t n = x.size(-1);
  if (weight.defined() && (!SameCpu(x, weight) || weight.dim() != 1 || weight.size(0) != n)) return false;
  if (residual.defined() && (!SameCpu(x, residual) || residual.sizes() != x.sizes())) return false;
  at::Tensor xc = x.contiguous(), rc = residual.defined() ? residual.contiguous() : residual, wc = weight.defined() ? weight.contiguous() : weight;
  at::Tensor o = at::empty(x.sizes(), x.options());
  at::Tensor s = residual.defined() ? at::empty(x.sizes(), x.options()) : at::Tensor();
  const int64_t rows = x.numel() / n;
  const float e = static_cast<float>(eps);
  at::parallel_for(0, rows, Grain(n), [&](int64_t lo, int64_t hi) {
    if (x.scalar_type() == at::kFloat) {
      RmsNormRowsF32(xc.data_ptr<float>() + lo * n, rc.defined() ? rc.data_ptr<float>() + lo * n : nullptr, wc.defined() ? wc.data_ptr<float>() : nullptr,
                     s.defined() ? s.data_ptr<float>() + lo * n : nullptr, o.data_ptr<float>() + lo * n, hi - lo, n, e);
    } else {
      RmsNormRowsBf16(xc.data_ptr<BF16>() + lo * n, rc.defined() ? rc.data_ptr<BF16>() + lo * n : nullptr, wc.defined() ? wc.data_ptr<BF16>() : nullptr,
                      s.defined() ? s.data_ptr<BF16>() + lo * n : nullptr, o.data_ptr<BF16>() + lo * n, hi - lo, n, e);
    }
  });
  *out = o;
  if (sum) *sum = s;
  Count(0);
  return true;
}

bool FusedRotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, at::Tensor* out) {
  if (!x.device().is_cpu() || !FastDType(x) || !NoGradNeeded({&x, &cos, &sin}) || x.dim() != 4 || x.size(-1) % 2 != 0 || x.stride(3) != 1) return false;
  if (!SameCpu(x, cos) || !SameCpu(x, sin) || !cos.is_contiguous() || !sin.is_contiguous() || cos.sizes() != sin.sizes()) return false;
  const int64_t B = x.size(0), T = x.size(2), D = x.size(3);
  const bool table2 = cos.dim() == 2 && cos.size(0) == T && cos.size(1) == D;
  const bool table4 = cos.dim() == 4 && cos.size(0) == B && cos.size(1) == 1 && cos.size(2) == T && cos.size(3) == D;
  if (!table2 && !table4) return false;
  *out = at::empty(x.sizes(), x.options());
  if (x.scalar_type() == at::kFloat) RotaryImpl<float>(x, cos, sin, *out);
  else RotaryImpl<BF16>(x, cos, sin, *out);
  Count(1);
  return true;
}

bool FusedSiluMul(const at::Tensor& gate, const at::Tensor& up, at::Tensor* out) {
  if (!gate.device().is_cpu() || !FastDType(gate) || !SameCpu(gate, up) || gate.sizes() != up.sizes() || !NoGradNeeded({&gate, &up}) || gate.dim() < 1) return false;
  // Rows of n with a uniform row stride each (a narrow of a fused gate-up GEMM output is such a view).
  const int64_t n = gate.size(-1), rows = n ? gate.numel() / n : 0;
  auto rowStride = [&](const at::Tensor& t) -> int64_t {
    if (t.stride(-1) != 1) return -1;
    if (t.dim() == 1) return n;
    int64_t expect = t.stride(-2);
    for (int64_t d = t.dim() - 2; d >= 0; d--) {
      if (t.size(d) != 1 && t.stride(d) != expect) return -1;
      expect *= t.size(d);
    }
    return t.stride(-2);
  };
  at::Tensor g = gate, u = up;
  int64_t gs = rowStride(g), us = rowStride(u);
  if (gs < 0) g = g.contiguous(), gs = n;
  if (us < 0) u = u.contiguous(), us = n;
  *out = at::empty(gate.sizes(), gate.options());
  at::parallel_for(0, rows, Grain(n), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++) {
      if (gate.scalar_type() == at::kFloat) SiluMulRowF32(g.data_ptr<float>() + r * gs, u.data_ptr<float>() + r * us, out->data_ptr<float>() + r * n, n);
      else SiluMulRowBf16(g.data_ptr<BF16>() + r * gs, u.data_ptr<BF16>() + r * us, out->data_ptr<BF16>() + r * n, n);
    }
  });
  Count(2);
  return true;
}

bool FusedCachedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask, bool causal, double scale,
                          const at::Tensor& prefixRows, const at::Tensor& prefixKeys, at::Tensor* out) {
  if (!q.device().is_cpu() || !FastDType(q) || !SameCpu(q, k) || !SameCpu(q, v) || !NoGradNeeded({&q, &k, &v, &mask})) return false;
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4 || q.stride(3) != 1 || k.stride(3) != 1 || v.stride(3) != 1) return false;
  const int64_t B = q.size(0), H = q.size(1), Lq = q.size(2), D = q.size(3), Hkv = k.size(1), S = k.size(2);
  if (k.size(0) != B || v.size(0) != B || v.size(1) != Hkv || v.size(2) != S || k.size(3) != D || v.size(3) != D || Hkv == 0 || H % Hkv != 0) return false;
  // For a few query rows per kv head (decode, short chunks); a long prefill is better served by
  // the library's blocked kernels.
  if ((H / Hkv) * Lq > 64 || S == 0 || D > 512 || Lq > S) return false;
  // The mask is read in place through its broadcast strides (boolean: true = attend; else additive).
  at::Tensor m;
  if (mask.defined()) {
    if (!mask.device().is_cpu() || mask.dim() > 4) return false;
    const at::Tensor base = mask.scalar_type() == at::kBool || mask.scalar_type() == at::kFloat ? mask : mask.to(at::kFloat);
    std::vector<int64_t> full = {B, H, Lq, S};
    for (int64_t d = 0; d < base.dim(); d++) {
      const int64_t have = base.size(base.dim() - 1 - d), want = full[3 - d];
      if (have != want && have != 1) return false;  // not broadcastable: the composite path reports it
    }
    m = base.expand(full);
  }
  // The shared-prefix hint (validated by the caller: rows in [0, B)) selects which cache rows are read.
  const at::Tensor rows = prefixRows.defined() ? prefixRows.contiguous() : prefixRows;
  const at::Tensor keys = prefixKeys.defined() ? prefixKeys.contiguous() : prefixKeys;
  *out = at::empty({B, H, Lq, D}, q.options());
  const float sc = static_cast<float>(scale);
  const int64_t* rp = rows.defined() ? rows.data_ptr<int64_t>() : nullptr;
  const int64_t* kp = keys.defined() ? keys.data_ptr<int64_t>() : nullptr;
  if (q.scalar_type() == at::kFloat) CachedAttentionImpl<float>(q, k, v, m, causal, sc, rp, kp, *out);
  else CachedAttentionImpl<BF16>(q, k, v, m, causal, sc, rp, kp, *out);
  Count(3);
  return true;
}

std::array<int64_t, 4> FusedKernelCalls() {
  return {g_calls[0].load(), g_calls[1].load(), g_calls[2].load(), g_calls[3].load()};
}

}  // namespace tf
