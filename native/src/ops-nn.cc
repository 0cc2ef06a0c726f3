// Neural-network building blocks: linear, embedding, losses, RMSNorm, rotary embedding,
// causal attention and per-token logprobs. Each is one native call so a transformer layer
// crosses the JS boundary a handful of times, not dozens.
#include "common.h"
#include "inference-kernels.h"
#include "op-table.h"
#include <ATen/core/Reduction.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/embedding.h>
#include <ATen/ops/gather.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/logsumexp.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/silu.h>
#include <ATen/ops/softmax.h>
#include <torch/version.h>
#if TORCH_VERSION_MAJOR >= 2
#include <ATen/ops/scaled_dot_product_attention.h>
#endif
#include <cmath>
#include <limits>

namespace tf {
namespace {

TF_FN(Linear, { return Wrap(env, at::linear(TF_ARG(0, "input"), TF_ARG(1, "weight"), UnwrapOptional(info[2], "bias"))); })
TF_FN(Embedding, { return Wrap(env, at::embedding(TF_ARG(0, "weight"), TF_ARG(1, "indices"))); })

// libtorch's reduction for each code of TF_LOSS_REDUCTIONS (op-table.h).
constexpr int64_t kLossReductions[] = {TF_LOSS_REDUCTIONS(TF_VALUE_OF)};

// crossEntropy(logits (N,C), target (N), ignoreIndex, reduction (a LOSS_REDUCTION code), labelSmoothing)
TF_FN(CrossEntropy, {
  int64_t code = Int(info[3], "reduction");
  if (code < 0 || code >= kLossReductionCount) throw ArgError("argument 'reduction' must be 'none', 'mean' or 'sum'");
  return Wrap(env, at::cross_entropy_loss(TF_ARG(0, "input"), TF_ARG(1, "target"), c10::nullopt, kLossReductions[code],
                                          Int(info[2], "ignoreIndex"), Num(info[4], "labelSmoothing")));
})

// Hugging Face's LlamaRMSNorm: normalised in float32, cast back, then scaled by the weight.
at::Tensor RmsNormComposite(const at::Tensor& x, const at::Tensor& w, double eps) {
  at::Tensor xf = x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble ? x : x.to(at::kFloat);
  at::Tensor y = xf.mul(xf.pow(2).mean({-1}, true).add(eps).rsqrt()).to(x.scalar_type());
  return w.defined() ? y.mul(w) : y;
}

// rmsNorm(x, weight|null, eps)
TF_FN(RmsNorm, {
  const at::Tensor& x = TF_ARG(0, "input");
  at::Tensor w = UnwrapOptional(info[1], "weight");
  double eps = Num(info[2], "eps");
  at::Tensor out;
  if (FusedRmsNorm(x, at::Tensor(), w, eps, nullptr, &out)) return Wrap(env, out);
  return Wrap(env, RmsNormComposite(x, w, eps));
})

// addRmsNorm(x, residual, weight|null, eps) → [x + residual, rmsNorm(x + residual)]: a pre-norm
// block's residual add and the next norm in one pass.
TF_FN(AddRmsNorm, {
  const at::Tensor& x = TF_ARG(0, "input");
  const at::Tensor& r = TF_ARG(1, "residual");
  at::Tensor w = UnwrapOptional(info[2], "weight");
  double eps = Num(info[3], "eps");
  at::Tensor sum, out;
  if (!FusedRmsNorm(x, r, w, eps, &sum, &out)) {
    sum = x.add(r);
    out = RmsNormComposite(sum, w, eps);
  }
  return WrapList(env, {sum, out});
})

// applyRotary(x (..., T, D), cos, sin): Hugging Face's rotate-half convention.
TF_FN(ApplyRotary, {
  const at::Tensor& x = TF_ARG(0, "input");
  const at::Tensor& cos = TF_ARG(1, "cos");
  const at::Tensor& sin = TF_ARG(2, "sin");
  at::Tensor fused;
  if (FusedRotary(x, cos, sin, &fused)) return Wrap(env, fused);
  int64_t half = x.size(-1) / 2;
  at::Tensor x1 = x.narrow(-1, 0, half);
  at::Tensor x2 = x.narrow(-1, half, x.size(-1) - half);
  at::Tensor rotated = at::cat({x2.neg(), x1}, -1);
  return Wrap(env, x.mul(cos).add(rotated.mul(sin)));
})

// siluMul(gate, up) = silu(gate) * up, SwiGLU's gate.
TF_FN(SiluMul, {
  const at::Tensor& gate = TF_ARG(0, "gate");
  const at::Tensor& up = TF_ARG(1, "up");
  at::Tensor fused;
  if (FusedSiluMul(gate, up, &fused)) return Wrap(env, fused);
  return Wrap(env, at::silu(gate).mul(up));
})

// Repeats key/value heads for grouped-query attention: (B, Hkv, L, D) → (B, Hkv*rep, L, D).
at::Tensor RepeatKv(const at::Tensor& t, int64_t rep) {
  if (rep == 1) return t;
  auto s = t.sizes();
  return t.unsqueeze(2).expand({s[0], s[1], rep, s[2], s[3]}).reshape({s[0], s[1] * rep, s[2], s[3]});
}

// The shared-prefix hint names cache rows to read from, so it is checked, not trusted.
void CheckSharedPrefix(const at::Tensor& rows, const at::Tensor& keys, int64_t batch) {
  auto ok = [&](const at::Tensor& t) { return t.defined() && t.dim() == 1 && t.size(0) == batch && t.scalar_type() == at::kLong && t.device().is_cpu(); };
  if (!ok(rows) || !ok(keys))
    throw ArgError("option 'sharedPrefix' must hold rows and keys, int64 CPU tensors of shape [" + std::to_string(batch) + "]");
  at::Tensor r = rows.contiguous();
  const int64_t* p = r.data_ptr<int64_t>();
  for (int64_t b = 0; b < batch; b++)
    if (p[b] < 0 || p[b] >= batch)
      throw ArgError("option 'sharedPrefix.rows' must name batch rows in [0, " + std::to_string(batch) + "); got " + std::to_string(p[b]));
}

// sdpa(q (B,H,Lq,D), k (B,Hkv,Lk,D), v, mask|null, causal, scale|null). A causal mask is aligned
// to the end of the keys, so Lq < Lk (decode against a KV cache) attends to all earlier keys.
// The mask may be boolean (true = attend) or additive.
TF_FN(Sdpa, {
  const at::Tensor& q = TF_ARG(0, "query");
  at::Tensor k = TF_ARG(1, "key");
  at::Tensor v = TF_ARG(2, "value");
  at::Tensor mask = UnwrapOptional(info[3], "mask");
  bool causal = Bool(info[4], "causal");
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4)
    throw std::runtime_error("sdpa expects query, key and value of shape (B, H, L, D)");
  int64_t h = q.size(1), hkv = k.size(1);
  if (h % hkv != 0)
    throw std::runtime_error("sdpa: query heads (" + std::to_string(h) + ") must be a multiple of key/value heads (" +
                             std::to_string(hkv) + ")");
  int64_t lq = q.size(2), lk = k.size(2);
  double scale = info[5].IsNumber() ? Num(info[5], "scale") : 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  if (causal && lq > lk) throw std::runtime_error("sdpa: causal attention needs query length <= key length");
  // A shared-prefix hint (rows, keys) only changes where the fused kernel reads identical data.
  at::Tensor prefixRows = UnwrapOptional(info[6], "sharedPrefix.rows"), prefixKeys = UnwrapOptional(info[7], "sharedPrefix.keys");
  // Only the fused CPU kernel reads it (from host memory); elsewhere the hint is ignored.
  if ((prefixRows.defined() || prefixKeys.defined()) && q.device().is_cpu()) CheckSharedPrefix(prefixRows, prefixKeys, q.size(0));
  at::Tensor fused;
  if (FusedCachedAttention(q, k, v, mask, causal, scale, prefixRows, prefixKeys, &fused)) return Wrap(env, fused);
  k = RepeatKv(k, h / hkv);
  v = RepeatKv(v, h / hkv);
  if (causal) {
    at::Tensor keep = at::ones({lq, lk}, q.options().dtype(at::kBool)).tril(lk - lq);
    if (!mask.defined()) mask = keep;
    else if (mask.scalar_type() == at::kBool) mask = mask.logical_and(keep);
    else mask = mask.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
    causal = false;
  }
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  c10::optional<at::Tensor> m;
  if (mask.defined()) m = mask;
  return Wrap(env, at::scaled_dot_product_attention(q, k, v, m, 0.0, false, scale));
#else
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)).mul(scale);
  if (mask.defined()) {
    if (mask.scalar_type() == at::kBool) scores = scores.masked_fill(mask.logical_not(), -std::numeric_limits<double>::infinity());
    else scores = scores.add(mask);
  }
  // Half-precision scores are normalised in float32 (as fused kernels do); others in place.
  bool lowp = q.scalar_type() == at::kHalf || q.scalar_type() == at::kBFloat16;
  at::Tensor probs = lowp ? at::softmax(scores, -1, at::kFloat).to(q.scalar_type()) : at::softmax(scores, -1);
  return Wrap(env, at::matmul(probs, v));
#endif
})

// tokenLogprobs(logits (..., V), targets (...), temperature, chunkRows): log_softmax(logits / T)
// gathered at the targets, computed in row chunks so the full (N, V) log-softmax is never held.
TF_FN(TokenLogprobs, {
  const at::Tensor& logits = TF_ARG(0, "logits");
  const at::Tensor& targets = TF_ARG(1, "targets");
  double temperature = Num(info[2], "temperature");
  int64_t chunk = Int(info[3], "chunkRows");
  if (temperature <= 0) throw ArgError("argument 'temperature' must be > 0");
  if (chunk < 1) throw ArgError("argument 'chunkRows' must be >= 1");
  auto vocab = logits.size(-1);
  if (logits.sizes().slice(0, logits.dim() - 1) != targets.sizes())
    throw std::runtime_error("tokenLogprobs: targets shape must equal logits shape without the vocab dim");
  at::Tensor flat = logits.reshape({-1, vocab});
  at::Tensor tflat = targets.reshape({-1, 1});
  int64_t n = flat.size(0);
  std::vector<at::Tensor> parts;
  for (int64_t start = 0; start < n; start += chunk) {
    int64_t len = std::min(chunk, n - start);
    at::Tensor rows = flat.narrow(0, start, len);
    // bf16/f16 logits are normalised in float32; float32/float64 stay as they are.
    if (rows.scalar_type() == at::kHalf || rows.scalar_type() == at::kBFloat16) rows = rows.to(at::kFloat);
    if (temperature != 1.0) rows = rows.div(temperature);
    at::Tensor picked = at::gather(rows, 1, tflat.narrow(0, start, len)).squeeze(1);
    parts.push_back(picked.sub(at::logsumexp(rows, {1}, false)));
  }
  at::Tensor out = parts.size() == 1 ? parts[0] : at::cat(parts, 0);
  return Wrap(env, out.reshape(targets.sizes()));
})

// setGenericKernels(on): see GenericKernels() in inference-kernels.h. genericKernels() reads it.
TF_FN(SetGenericKernelsJs, {
  SetGenericKernels(Bool(info[0], "on"));
  return env.Undefined();
})
TF_FN(GenericKernelsJs, { return Napi::Boolean::New(env, GenericKernels()); })

TF_FN(FusedKernelCallsJs, {
  auto c = FusedKernelCalls();
  Napi::Object o = Napi::Object::New(env);
  o.Set("rmsNorm", Napi::Number::New(env, static_cast<double>(c[0])));
  o.Set("rotary", Napi::Number::New(env, static_cast<double>(c[1])));
  o.Set("siluMul", Napi::Number::New(env, static_cast<double>(c[2])));
  o.Set("attention", Napi::Number::New(env, static_cast<double>(c[3])));
  return o;
})

}  // namespace

void RegisterNN(Napi::Env env, Exports exports) {
  TF_EXPORT("linear", Linear);
  TF_EXPORT("embedding", Embedding);
  TF_EXPORT("crossEntropy", CrossEntropy);
  TF_EXPORT("rmsNorm", RmsNorm);
  TF_EXPORT("addRmsNorm", AddRmsNorm);
  TF_EXPORT("applyRotary", ApplyRotary);
  TF_EXPORT("siluMul", SiluMul);
  TF_EXPORT("fusedKernelCalls", FusedKernelCallsJs);
  TF_EXPORT("setGenericKernels", SetGenericKernelsJs);
  TF_EXPORT("genericKernels", GenericKernelsJs);
  TF_EXPORT("sdpa", Sdpa);
  TF_EXPORT("tokenLogprobs", TokenLogprobs);
}

}  // namespace tf
