// Drawing one token per row from a batch of probabilities by inverse CDF, with top-k, top-p and
// min-p truncation, in one native pass per row (rows in parallel).
//
// Why native: written with tensor ops, a draw needed a float64 cast, a sequential cumsum, a
// comparison and a sum over the whole (rows, vocab) matrix, and top-p a sort or top-k of it —
// ~6 ms per step at 64 × 32k and ~450 ms with top-p at 64 × 152k (Qwen's vocabulary). Here
// each row is read a few times, the truncation sorts only the tokens that can survive it, and
// sums are in double.
#include "common.h"
#include "inference-kernels.h"
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/minimum.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/sort.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros_like.h>
#include <algorithm>
#include <limits>
#include <cmath>
#include <utility>
#include <vector>
#include "vec16.h"

namespace tf {
namespace {

using namespace vec16;

struct Truncation {
  int64_t topK;  // 0: off
  double topP;   // 1: off
  double minP;   // 0: off
};

constexpr int64_t kBlock = 256;

// Largest value of p[0..V), four independent lanes (a single running max is latency-bound).
float MaxOf(const float* p, int64_t V) {
  float m0 = 0, m1 = 0, m2 = 0, m3 = 0;
  int64_t i = 0;
  for (; i + 4 <= V; i += 4) {
    m0 = std::max(m0, p[i]);
    m1 = std::max(m1, p[i + 1]);
    m2 = std::max(m2, p[i + 2]);
    m3 = std::max(m3, p[i + 3]);
  }
  for (; i < V; i++) m0 = std::max(m0, p[i]);
  return std::max(std::max(m0, m1), std::max(m2, m3));
}

// Sum of the kept weights (p, or 0 below minKeep) of each block of kBlock tokens, in double with
// four lanes; returns the total. The draw then walks blocks, and tokens only inside one block.
double BlockSums(const float* p, int64_t V, float minKeep, std::vector<double>& sums) {
  sums.assign((V + kBlock - 1) / kBlock, 0.0);
  double total = 0;
  for (int64_t b = 0; b * kBlock < V; b++) {
    const int64_t lo = b * kBlock, hi = std::min(V, lo + kBlock);
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int64_t i = lo;
    for (; i + 4 <= hi; i += 4) {
      a0 += p[i] >= minKeep ? p[i] : 0.0f;
      a1 += p[i + 1] >= minKeep ? p[i + 1] : 0.0f;
      a2 += p[i + 2] >= minKeep ? p[i + 2] : 0.0f;
      a3 += p[i + 3] >= minKeep ? p[i + 3] : 0.0f;
    }
    for (; i < hi; i++) a0 += p[i] >= minKeep ? p[i] : 0.0f;
    sums[b] = (a0 + a1) + (a2 + a3);
    total += sums[b];
  }
  return total;
}

// The token drawn from row `p` (length V) for uniform `u` in [0, 1).
int64_t DrawRow(const float* p, int64_t V, double u, const Truncation& t, std::vector<std::pair<float, int64_t>>& cand, std::vector<double>& sums) {
  const float pmax = MaxOf(p, V);
  const float minKeep = static_cast<float>(t.minP * pmax);
  const bool sorted = (t.topK > 0 && t.topK < V) || t.topP < 1;
  if (!sorted) {
    // Vocabulary order, as the unsorted distribution is defined; min-p only masks tokens.
    const double target = u * BlockSums(p, V, minKeep, sums);
    double acc = 0;
    int64_t last = -1;
    for (int64_t b = 0; b < static_cast<int64_t>(sums.size()); b++) {
      if (sums[b] > 0) last = b;
      if (acc + sums[b] <= target) {
        acc += sums[b];
        continue;
      }
      for (int64_t i = b * kBlock, hi = std::min(V, i + kBlock); i < hi; i++) {
        if (p[i] < minKeep) continue;
        acc += p[i];
        if (acc > target) return i;
      }
    }
    // Rounding left the target beyond the walk: the last kept token.
    for (int64_t i = last < 0 ? -1 : std::min(V, (last + 1) * kBlock) - 1; i >= 0; i--)
      if (p[i] >= minKeep && p[i] > 0) return i;
    return 0;
  }
  const double total = BlockSums(p, V, 0.0f, sums);
  // Candidates: every token above a threshold, lowered until they are sure to contain the
  // kept head (at least topK tokens, or top-p's mass). Tokens at or below it are smaller than
  // every candidate, so sorting the candidates gives the true head of the sorted vocabulary.
  float threshold = pmax * (1.0f / 256);
  for (int attempt = 0;; attempt++) {
    cand.clear();
    double mass = 0;
    if (attempt >= 4 || threshold <= 0) {
      for (int64_t i = 0; i < V; i++) cand.emplace_back(p[i], i);
      mass = total;
    } else {
      for (int64_t i = 0; i < V; i++)
        if (p[i] > threshold) {
          cand.emplace_back(p[i], i);
          mass += p[i];
        }
    }
    const bool enoughK = t.topK > 0 && static_cast<int64_t>(cand.size()) >= std::min(t.topK, V);
    const bool enoughP = t.topP < 1 && mass >= t.topP * total;
    if (enoughK || enoughP || static_cast<int64_t>(cand.size()) == V) break;
    threshold *= 1.0f / 256;
  }
  std::sort(cand.begin(), cand.end(), [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  // Keep a prefix: at most topK tokens, each while the mass before it is < topP; then min-p.
  int64_t keep = static_cast<int64_t>(cand.size());
  if (t.topK > 0) keep = std::min(keep, t.topK);
  double before = 0, kept = 0;
  int64_t n = 0;
  for (; n < keep; n++) {
    if (t.topP < 1 && before >= t.topP * total) break;
    before += cand[n].first;
  }
  std::vector<double> weight(n);
  for (int64_t i = 0; i < n; i++) {
    weight[i] = cand[i].first >= minKeep ? cand[i].first : 0.0;
    kept += weight[i];
  }
  const double target = u * kept;
  double acc = 0;
  for (int64_t i = 0; i < n; i++) {
    acc += weight[i];
    if (weight[i] > 0 && acc > target) return cand[i].second;
  }
  for (int64_t i = n - 1; i >= 0; i--)
    if (weight[i] > 0) return cand[i].second;
  return cand.empty() ? 0 : cand[0].second;
}

// The same draw as DrawRow for every row at once, in composite ATen ops on any device (what a GPU
// runs; the CPU runs it too in device-generic mode). Sums are in float64 like DrawRow's, but in
// another order, so a uniform within ~1e-12 of a bucket boundary may pick the neighbour.
at::Tensor DrawRowsComposite(const at::Tensor& probs, const at::Tensor& uniforms, const Truncation& t) {
  const int64_t V = probs.size(1);
  at::Tensor p = probs.to(at::kDouble);
  at::Tensor u = uniforms.to(probs.device()).to(at::kDouble).unsqueeze(1);
  // min-p's threshold rounded to float32, as DrawRow's.
  at::Tensor minKeep = std::get<0>(probs.max(1, true)).to(at::kDouble).mul(t.minP).to(at::kFloat).to(at::kDouble);
  const bool sorted = (t.topK > 0 && t.topK < V) || t.topP < 1;
  at::Tensor order;
  at::Tensor w;
  if (!sorted) {
    w = at::where(p.ge(minKeep), p, at::zeros_like(p));
  } else {
    // Descending, ties by index (a stable sort), as DrawRow's comparator orders candidates.
    auto sortedPair = at::sort(p, /*stable=*/true, /*dim=*/1, /*descending=*/true);
    at::Tensor sp = std::get<0>(sortedPair);
    order = std::get<1>(sortedPair);
    at::Tensor keep = at::ones_like(sp, sp.options().dtype(at::kBool));
    if (t.topK > 0) keep = keep.logical_and(at::arange(V, p.options().dtype(at::kLong)).lt(t.topK).unsqueeze(0));
    if (t.topP < 1) {
      at::Tensor before = at::cumsum(sp, 1).sub(sp);  // mass strictly before each token
      keep = keep.logical_and(before.lt(p.sum(1, true).mul(t.topP)));
    }
    w = at::where(keep.logical_and(sp.ge(minKeep)), sp, at::zeros_like(sp));
  }
  at::Tensor cdf = at::cumsum(w, 1);
  at::Tensor target = u.mul(cdf.narrow(1, V - 1, 1));
  // The first index whose running sum passes the target, or (rounding) the last kept token.
  at::Tensor pos = cdf.le(target).sum(1, true);
  at::Tensor idx = at::arange(V, p.options().dtype(at::kLong)).unsqueeze(0).expand_as(w);
  at::Tensor lastKept = at::where(w.gt(0), idx, at::zeros_like(idx)).amax(1, true);
  pos = at::minimum(pos, lastKept);
  at::Tensor token = sorted ? order.gather(1, pos) : pos;
  return token.squeeze(1);
}

void CheckUniforms(const at::Tensor& u, int64_t rows) {
  if (u.dim() != 1 || u.size(0) != rows || u.scalar_type() != at::kDouble)
    throw ArgError("argument 'uniforms' must be float64 of shape [" + std::to_string(rows) + "]");
}

// topK, topP, minP from info[first], info[first + 1], info[first + 2], checked.
Truncation TruncationArgs(const Napi::CallbackInfo& info, size_t first) {
  const Truncation t{Int(info[first], "topK"), Num(info[first + 1], "topP"), Num(info[first + 2], "minP")};
  if (t.topK < 0) throw ArgError("argument 'topK' must be >= 0");
  if (!(t.topP > 0 && t.topP <= 1)) throw ArgError("argument 'topP' must be in (0, 1]");
  if (!(t.minP >= 0 && t.minP <= 1)) throw ArgError("argument 'minP' must be in [0, 1]");
  return t;
}

// sampleFromProbs(probs (R, V) float32, uniforms (R) float64, topK, topP, minP) → tokens (R) int64
TF_FN(SampleFromProbs, {
  const at::Tensor& probsIn = TF_ARG(0, "probs");
  const at::Tensor& uIn = TF_ARG(1, "uniforms");
  if (probsIn.dim() != 2) throw ArgError("argument 'probs' must be 2-D (rows, vocab)");
  if (probsIn.scalar_type() != at::kFloat) throw ArgError("argument 'probs' must be float32");
  const int64_t R = probsIn.size(0), V = probsIn.size(1);
  if (V < 1) throw ArgError("argument 'probs' must have at least one column");
  CheckUniforms(uIn, R);
  const Truncation t = TruncationArgs(info, 2);
  if (!probsIn.device().is_cpu() || GenericKernels()) return Wrap(env, DrawRowsComposite(probsIn, uIn, t));
  at::Tensor probs = probsIn.contiguous(), u = uIn.contiguous();
  at::Tensor tokens = at::empty({R}, probs.options().dtype(at::kLong));
  const float* p = probs.data_ptr<float>();
  const double* uu = u.data_ptr<double>();
  int64_t* out = tokens.data_ptr<int64_t>();
  at::parallel_for(0, R, 1, [&](int64_t begin, int64_t end) {
    std::vector<std::pair<float, int64_t>> cand;
    std::vector<double> sums;
    for (int64_t r = begin; r < end; r++) out[r] = DrawRow(p + r * V, V, uu[r], t, cand, sums);
  });
  return Wrap(env, tokens);
})

// p = exp(x / T - max(x / T)) for one row (unnormalised probabilities; -inf logits give 0);
// returns max(x / T) and Σ p.
struct ExpRowStats {
  float max;
  double sum;
};
TF_CLONES ExpRowStats ScaledExpRow(const float* x, int64_t V, float T, float* p) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  Vf mv = Splat(kNegInf);
  for (int64_t i = 0; i < V; i += W) {
    const Vf y = LoadN(x + i, std::min(W, V - i), kNegInf) / T;
    mv = y > mv ? y : mv;
  }
  const float m = HMax(mv);
  Vf acc = Vf{};
  for (int64_t i = 0; i < V; i += W) {
    const int64_t n = std::min(W, V - i);
    const Vf y = LoadN(x + i, n, kNegInf) / T;
    const Vf e = y == kNegInf ? Vf{} : Exp(y - m);
    StoreN(p + i, e, n);
    acc += e;
  }
  return {m, static_cast<double>(HSum(acc))};
}

// sampleFromLogits(logits (R, V) float32, uniforms (R) float64, temperature > 0, topK, topP, minP)
// → [tokens (R) int64, logprobs (R) float32]: the draw sampleFromProbs would make from
// softmax(logits / T), and log_softmax(logits / T) at the drawn token, without materialising the
// (R, V) log-probabilities and probabilities (each row's probabilities live in a scratch row).
TF_FN(SampleFromLogits, {
  const at::Tensor& logitsIn = TF_ARG(0, "logits");
  const at::Tensor& uIn = TF_ARG(1, "uniforms");
  if (logitsIn.dim() != 2 || logitsIn.scalar_type() != at::kFloat)
    throw ArgError("argument 'logits' must be a 2-D (rows, vocab) float32 tensor");
  const int64_t R = logitsIn.size(0), V = logitsIn.size(1);
  if (V < 1) throw ArgError("argument 'logits' must have at least one column");
  CheckUniforms(uIn, R);
  const double temperature = Num(info[2], "temperature");
  if (!(temperature > 0) || !std::isfinite(temperature)) throw ArgError("argument 'temperature' must be a finite number > 0");
  const Truncation t = TruncationArgs(info, 3);
  if (!logitsIn.device().is_cpu() || GenericKernels()) {
    // Composite ops on the logits' device: the (R, V) log-probabilities are materialised there.
    at::Tensor logp = at::log_softmax(temperature == 1.0 ? logitsIn : logitsIn.div(temperature), 1);
    at::Tensor tokens = DrawRowsComposite(logp.exp(), uIn, t);
    return WrapList(env, {tokens, logp.gather(1, tokens.unsqueeze(1)).squeeze(1)});
  }
  at::Tensor logits = logitsIn.contiguous(), u = uIn.contiguous();
  at::Tensor tokens = at::empty({R}, logits.options().dtype(at::kLong));
  at::Tensor logprobs = at::empty({R}, logits.options());
  const float* x = logits.data_ptr<float>();
  const double* uu = u.data_ptr<double>();
  int64_t* tok = tokens.data_ptr<int64_t>();
  float* lp = logprobs.data_ptr<float>();
  const float T = static_cast<float>(temperature);
  at::parallel_for(0, R, 1, [&](int64_t begin, int64_t end) {
    std::vector<std::pair<float, int64_t>> cand;
    std::vector<double> sums;
    std::vector<float> p(V);
    for (int64_t r = begin; r < end; r++) {
      const float* row = x + r * V;
      const ExpRowStats st = ScaledExpRow(row, V, T, p.data());
      const int64_t token = DrawRow(p.data(), V, uu[r], t, cand, sums);
      tok[r] = token;
      lp[r] = static_cast<float>(static_cast<double>(row[token] / T - st.max) - std::log(st.sum));
    }
  });
  return WrapList(env, {tokens, logprobs});
})

}  // namespace

void RegisterSampling(Napi::Env env, Exports exports) {
  TF_EXPORT("sampleFromProbs", SampleFromProbs);
  TF_EXPORT("sampleFromLogits", SampleFromLogits);
}

}  // namespace tf
