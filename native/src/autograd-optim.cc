// Autograd controls and fused optimizer steps. The optimizers update every parameter in one
// native call (PyTorch's single-tensor algorithm, same arithmetic), so a step costs one
// boundary crossing instead of ~10 per parameter.
#include "common.h"
#include <c10/core/GradMode.h>
#include <ATen/ops/stack.h>
#include <cmath>

namespace tf {
namespace {

TF_FN(RequiresGrad_, {
  at::Tensor t = TF_ARG(0, "tensor");
  t.requires_grad_(Bool(info[1], "requiresGrad"));
  return info[0];
})
TF_FN(Grad, {
  const at::Tensor& g = TF_ARG(0, "tensor").grad();
  if (!g.defined()) return env.Null();
  return Wrap(env, g);
})
TF_FN(HasGrad, { return Napi::Boolean::New(env, TF_ARG(0, "tensor").grad().defined()); })
TF_FN(SetGrad, {
  at::Tensor t = TF_ARG(0, "tensor");
  if (info[1].IsNull() || info[1].IsUndefined()) t.mutable_grad().reset();
  else t.mutable_grad() = TF_ARG(1, "grad");
  return env.Undefined();
})
TF_FN(RetainGrad, {
  at::Tensor t = TF_ARG(0, "tensor");
  t.retain_grad();
  return env.Undefined();
})
// backward(t, gradient|null, retainGraph)
TF_FN(Backward, {
  const at::Tensor& t = TF_ARG(0, "tensor");
  at::Tensor g = UnwrapOptional(info[1], "gradient");
  bool retain = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  if (!g.defined() && t.numel() != 1)
    throw std::runtime_error("backward() without a gradient needs a scalar (one-element) tensor; got shape " +
                             c10::str(t.sizes()));
  t.backward(g, retain, false);
  return env.Undefined();
})
TF_FN(SetGradEnabled, {
  bool prev = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(Bool(info[0], "enabled"));
  return Napi::Boolean::New(env, prev);
})
TF_FN(IsGradEnabled, { return Napi::Boolean::New(env, c10::GradMode::is_enabled()); })

TF_FN(ZeroGrad, {
  for (auto& p : UnwrapList(info[0], "params")) p.mutable_grad().reset();
  return env.Undefined();
})

// clipGradNorm(params, maxNorm, normType) → total norm before clipping (torch.nn.utils semantics).
TF_FN(ClipGradNorm, {
  auto params = UnwrapList(info[0], "params");
  double maxNorm = Num(info[1], "maxNorm");
  double normType = Num(info[2], "normType");
  c10::NoGradGuard noGrad;
  std::vector<at::Tensor> norms;
  std::vector<at::Tensor> grads;
  for (auto& p : params) {
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    grads.push_back(g);
    norms.push_back(std::isinf(normType) ? g.abs().max().to(at::kFloat) : g.norm(normType).to(at::kFloat));
  }
  if (grads.empty()) return Napi::Number::New(env, 0.0);
  at::Tensor stacked = at::stack(norms);
  double total = std::isinf(normType) ? stacked.max().item<double>() : stacked.norm(normType).item<double>();
  double coef = maxNorm / (total + 1e-6);
  if (coef < 1.0)
    for (auto& g : grads) g.mul_(coef);
  return Napi::Number::New(env, total);
})

// adamwStep(params, expAvg, expAvgSq, step, lr, beta1, beta2, eps, weightDecay)
TF_FN(AdamwStep, {
  auto params = UnwrapList(info[0], "params");
  auto m = UnwrapList(info[1], "expAvg");
  auto v = UnwrapList(info[2], "expAvgSq");
  double step = Num(info[3], "step"), lr = Num(info[4], "lr"), b1 = Num(info[5], "beta1"), b2 = Num(info[6], "beta2");
  double eps = Num(info[7], "eps"), wd = Num(info[8], "weightDecay");
  if (m.size() != params.size() || v.size() != params.size())
    throw ArgError("adamwStep: params, expAvg and expAvgSq must have the same length");
  c10::NoGradGuard noGrad;
  double bc1 = 1.0 - std::pow(b1, step), bc2Sqrt = std::sqrt(1.0 - std::pow(b2, step));
  for (size_t i = 0; i < params.size(); ++i) {
    at::Tensor& p = params[i];
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    if (wd != 0) p.mul_(1.0 - lr * wd);
    m[i].lerp_(g, 1.0 - b1);
    v[i].mul_(b2).addcmul_(g, g, 1.0 - b2);
    at::Tensor denom = v[i].sqrt().div_(bc2Sqrt).add_(eps);
    p.addcdiv_(m[i], denom, -lr / bc1);
  }
  return env.Undefined();
})

// sgdStep(params, momentumBuffers, lr, momentum, dampening, weightDecay, nesterov, firstStep)
TF_FN(SgdStep, {
  auto params = UnwrapList(info[0], "params");
  auto bufs = UnwrapList(info[1], "momentumBuffers");
  double lr = Num(info[2], "lr"), momentum = Num(info[3], "momentum"), dampening = Num(info[4], "dampening");
  double wd = Num(info[5], "weightDecay");
  bool nesterov = Bool(info[6], "nesterov"), first = Bool(info[7], "firstStep");
  if (momentum != 0 && bufs.size() != params.size())
    throw ArgError("sgdStep: momentumBuffers must match params when momentum != 0");
  c10::NoGradGuard noGrad;
  for (size_t i = 0; i < params.size(); ++i) {
    at::Tensor& p = params[i];
    if (!p.grad().defined()) continue;
    at::Tensor d = p.grad();
    if (wd != 0) d = d.add(p, wd);
    if (momentum != 0) {
      if (first) bufs[i].copy_(d);
      else bufs[i].mul_(momentum).add_(d, 1.0 - dampening);
      d = nesterov ? d.add(bufs[i], momentum) : bufs[i];
    }
    p.add_(d, -lr);
  }
  return env.Undefined();
})

}  // namespace

void RegisterAutogradOptim(Napi::Env env, Exports exports) {
  TF_EXPORT("requiresGrad_", RequiresGrad_);
  TF_EXPORT("grad", Grad);
  TF_EXPORT("setGrad", SetGrad);
  TF_EXPORT("hasGrad", HasGrad);
  TF_EXPORT("retainGrad", RetainGrad);
  TF_EXPORT("backward", Backward);
  TF_EXPORT("setGradEnabled", SetGradEnabled);
  TF_EXPORT("isGradEnabled", IsGradEnabled);
  TF_EXPORT("zeroGrad", ZeroGrad);
  TF_EXPORT("clipGradNorm", ClipGradNorm);
  TF_EXPORT("adamwStep", AdamwStep);
  TF_EXPORT("sgdStep", SgdStep);
}

}  // namespace tf
