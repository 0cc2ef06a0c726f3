// Elementwise, comparison, reduction, indexing, sorting/sampling and matrix ops.
// Op families are dispatched by small integer codes from op-table.h (src/torch/op-codes.ts is
// generated from it), so one native entry point serves a whole family and the JS↔C++ surface
// stays small.
#include "common.h"
#include "op-table.h"
#include <ATen/ops/abs.h>
#include <ATen/ops/add_cpu_dispatch.h>
#include <ATen/ops/div_cpu_dispatch.h>
#include <ATen/ops/mul_cpu_dispatch.h>
#include <ATen/ops/sub_cpu_dispatch.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/argmax.h>
#include <ATen/ops/argmin.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/clamp.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/erf.h>
#include <ATen/ops/gather.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/index_select.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/isinf.h>
#include <ATen/ops/isnan.h>
#include <ATen/ops/log_sigmoid.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/logsumexp.h>
#include <ATen/ops/masked_fill.h>
#include <ATen/ops/masked_select.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/maximum.h>
#include <ATen/ops/minimum.h>
#include <ATen/ops/multinomial.h>
#include <ATen/ops/nonzero.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/rsub.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/scatter.h>
#include <ATen/ops/scatter_add.h>
#include <ATen/ops/silu.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/sort.h>
#include <ATen/ops/std.h>
#include <ATen/ops/topk.h>
#include <ATen/ops/var.h>
#include <ATen/ops/where.h>

namespace tf {
namespace {

at::Tensor ApplyUnary(int64_t code, const at::Tensor& t) {
  switch (static_cast<UnaryOp>(code)) {
    case UnaryOp::kExp: return t.exp();
    case UnaryOp::kLog: return t.log();
    case UnaryOp::kSqrt: return t.sqrt();
    case UnaryOp::kRsqrt: return t.rsqrt();
    case UnaryOp::kAbs: return t.abs();
    case UnaryOp::kNeg: return t.neg();
    case UnaryOp::kSigmoid: return t.sigmoid();
    case UnaryOp::kTanh: return t.tanh();
    case UnaryOp::kSilu: return at::silu(t);
    case UnaryOp::kRelu: return t.relu();
    case UnaryOp::kSin: return t.sin();
    case UnaryOp::kCos: return t.cos();
    case UnaryOp::kReciprocal: return t.reciprocal();
    case UnaryOp::kSquare: return t.square();
    case UnaryOp::kLog1p: return t.log1p();
    case UnaryOp::kExpm1: return t.expm1();
    case UnaryOp::kFloor: return t.floor();
    case UnaryOp::kCeil: return t.ceil();
    case UnaryOp::kRound: return t.round();
    case UnaryOp::kSign: return t.sign();
    case UnaryOp::kLogicalNot: return t.logical_not();
    case UnaryOp::kIsnan: return at::isnan(t);
    case UnaryOp::kIsinf: return at::isinf(t);
    case UnaryOp::kIsfinite: return at::isfinite(t);
    case UnaryOp::kGelu: return at::gelu(t);
    case UnaryOp::kLogSigmoid: return at::log_sigmoid(t);
    case UnaryOp::kErf: return at::erf(t);
  }
  throw ArgError("unknown unary op code " + std::to_string(code));
}

// A JS number as a 0-dim tensor that type-promotes like a Python scalar.
at::Tensor ScalarAsTensor(const at::Scalar& s, const at::Tensor& like) {
  at::Tensor w = at::scalar_tensor(s, at::TensorOptions().dtype(s.type()).device(like.device()));
  w.unsafeGetTensorImpl()->set_wrapped_number(true);
  return w;
}

// Arithmetic on CPU tensors that autograd need not record calls the CPU kernels directly
// (at::cpu::*), skipping the dispatcher's Autograd and ADInplaceOrView layers: for a small op
// those layers cost about as much as the kernel. Same kernels, same type promotion and
// broadcasting, same result; anything else (grad-requiring inputs, other devices or layouts)
// takes the dispatcher.
bool DirectCpu(const at::Tensor& a, const at::Tensor& b) {
  return a.device().is_cpu() && b.device().is_cpu() && a.layout() == at::kStrided && b.layout() == at::kStrided &&
         !(at::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad()));
}

at::Tensor BinaryTT(int64_t code, const at::Tensor& a, const at::Tensor& b) {
  const auto op = static_cast<BinaryOp>(code);
  const bool arithmetic = op == BinaryOp::kAdd || op == BinaryOp::kSub || op == BinaryOp::kMul || op == BinaryOp::kDiv;
  if (arithmetic && DirectCpu(a, b)) {
    switch (op) {
      case BinaryOp::kAdd: return at::cpu::add(a, b);
      case BinaryOp::kSub: return at::cpu::sub(a, b);
      case BinaryOp::kMul: return at::cpu::mul(a, b);
      case BinaryOp::kDiv: return at::cpu::div(a, b);
      default: break;
    }
  }
  switch (op) {
    case BinaryOp::kAdd: return a.add(b);
    case BinaryOp::kSub: return a.sub(b);
    case BinaryOp::kMul: return a.mul(b);
    case BinaryOp::kDiv: return a.div(b);
    case BinaryOp::kPow: return a.pow(b);
    case BinaryOp::kMinimum: return at::minimum(a, b);
    case BinaryOp::kMaximum: return at::maximum(a, b);
    case BinaryOp::kEq: return a.eq(b);
    case BinaryOp::kNe: return a.ne(b);
    case BinaryOp::kLt: return a.lt(b);
    case BinaryOp::kLe: return a.le(b);
    case BinaryOp::kGt: return a.gt(b);
    case BinaryOp::kGe: return a.ge(b);
    case BinaryOp::kLogicalAnd: return a.logical_and(b);
    case BinaryOp::kLogicalOr: return a.logical_or(b);
    case BinaryOp::kRemainder: return a.remainder(b);
    case BinaryOp::kFloorDivide: return a.div(b, "floor");
  }
  throw ArgError("unknown binary op code " + std::to_string(code));
}

at::Tensor BinaryTS(int64_t code, const at::Tensor& a, const at::Scalar& s) {
  switch (static_cast<BinaryOp>(code)) {
    case BinaryOp::kAdd: return a.add(s);
    case BinaryOp::kSub: return a.sub(s);
    case BinaryOp::kMul: return a.mul(s);
    case BinaryOp::kDiv: return a.div(s);
    case BinaryOp::kPow: return a.pow(s);
    case BinaryOp::kEq: return a.eq(s);
    case BinaryOp::kNe: return a.ne(s);
    case BinaryOp::kLt: return a.lt(s);
    case BinaryOp::kLe: return a.le(s);
    case BinaryOp::kGt: return a.gt(s);
    case BinaryOp::kGe: return a.ge(s);
    case BinaryOp::kRemainder: return a.remainder(s);
    default: break;  // the others promote the scalar to a wrapped-number tensor
  }
  return BinaryTT(code, a, ScalarAsTensor(s, a));
}

// binary(code, a, b: Tensor|number, reverse?: boolean): reverse computes `b op a` for a scalar b.
TF_FN(Binary, {
  int64_t code = Int(info[0], "op");
  const at::Tensor& a = TF_ARG(1, "a");
  if (info[2].IsNumber() || info[2].IsBoolean()) {
    at::Scalar s = ScalarArg(info[2], "b");
    bool reverse = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
    if (!reverse) return Wrap(env, BinaryTS(code, a, s));
    if (static_cast<BinaryOp>(code) == BinaryOp::kSub) return Wrap(env, at::rsub(a, s));
    if (static_cast<BinaryOp>(code) == BinaryOp::kPow) return Wrap(env, at::pow(s, a));
    return Wrap(env, BinaryTT(code, ScalarAsTensor(s, a), a));
  }
  return Wrap(env, BinaryTT(code, a, TF_ARG(2, "b")));
})

TF_FN(Unary, { return Wrap(env, ApplyUnary(Int(info[0], "op"), TF_ARG(1, "tensor"))); })

// binaryInplace(code, a, b): a op= b for add/sub/mul/div; returns a's handle.
TF_FN(BinaryInplace, {
  int64_t code = Int(info[0], "op");
  at::Tensor a = TF_ARG(1, "a");
  bool scalar = info[2].IsNumber();
  at::Scalar s = scalar ? ScalarArg(info[2], "b") : at::Scalar(0);
  at::Tensor b = scalar ? at::Tensor() : TF_ARG(2, "b");
  switch (static_cast<BinaryOp>(code)) {
    case BinaryOp::kAdd: scalar ? a.add_(s) : a.add_(b); break;
    case BinaryOp::kSub: scalar ? a.sub_(s) : a.sub_(b); break;
    case BinaryOp::kMul: scalar ? a.mul_(s) : a.mul_(b); break;
    case BinaryOp::kDiv: scalar ? a.div_(s) : a.div_(b); break;
    default: throw ArgError("in-place op code " + std::to_string(code) + " is not supported");
  }
  return info[1];
})

TF_FN(Clamp, {
  const at::Tensor& t = TF_ARG(0, "tensor");
  c10::optional<at::Scalar> lo, hi;
  if (!info[1].IsNull() && !info[1].IsUndefined()) lo = ScalarArg(info[1], "min");
  if (!info[2].IsNull() && !info[2].IsUndefined()) hi = ScalarArg(info[2], "max");
  return Wrap(env, at::clamp(t, lo, hi));
})

at::Tensor TensorOrScalar(const Napi::Value& v, const char* name, const at::Tensor& like) {
  if (v.IsNumber() || v.IsBoolean()) {
    at::Scalar s = ScalarArg(v, name);
    return at::scalar_tensor(s, like.options().dtype(like.scalar_type()));
  }
  return Unwrap(v, name);
}

// where(cond, a, b): a or b may be numbers (they take the other side's dtype).
TF_FN(Where, {
  const at::Tensor& cond = TF_ARG(0, "condition");
  bool aNum = info[1].IsNumber(), bNum = info[2].IsNumber();
  if (aNum && bNum) throw ArgError("where: at least one of 'input' and 'other' must be a Tensor");
  at::Tensor a = aNum ? at::Tensor() : TF_ARG(1, "input");
  at::Tensor b = bNum ? at::Tensor() : TF_ARG(2, "other");
  if (aNum) a = TensorOrScalar(info[1], "input", b);
  if (bNum) b = TensorOrScalar(info[2], "other", a);
  return Wrap(env, at::where(cond, a, b));
})

TF_FN(MaskedFill, {
  const at::Tensor& t = TF_ARG(0, "tensor");
  const at::Tensor& mask = TF_ARG(1, "mask");
  if (info[2].IsNumber() || info[2].IsBoolean()) return Wrap(env, t.masked_fill(mask, ScalarArg(info[2], "value")));
  return Wrap(env, t.masked_fill(mask, TF_ARG(2, "value")));
})

c10::optional<at::ScalarType> OptDType(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return c10::nullopt;
  return DType(v, "dtype");
}

// reduce(code, t, dims|null, keepdim, extra): extra is `unbiased` for std/var, dtype for sum/mean.
TF_FN(Reduce, {
  int64_t code = Int(info[0], "op");
  const at::Tensor& t = TF_ARG(1, "tensor");
  bool all = info[2].IsNull() || info[2].IsUndefined();
  std::vector<int64_t> dims = all ? std::vector<int64_t>{} : IntList(info[2], "dim");
  bool keep = Bool(info[3], "keepdim");
  const auto op = static_cast<ReduceOp>(code);
  switch (op) {
    case ReduceOp::kSum: return Wrap(env, all ? t.sum(OptDType(info[4])) : t.sum(dims, keep, OptDType(info[4])));
    case ReduceOp::kMean: return Wrap(env, all ? t.mean(OptDType(info[4])) : t.mean(dims, keep, OptDType(info[4])));
    case ReduceOp::kAmax: return Wrap(env, all ? t.amax() : t.amax(dims, keep));
    case ReduceOp::kAmin: return Wrap(env, all ? t.amin() : t.amin(dims, keep));
    case ReduceOp::kStd: case ReduceOp::kVar: {
      bool unbiased = info[4].IsBoolean() ? info[4].As<Napi::Boolean>().Value() : true;
      if (op == ReduceOp::kStd) return Wrap(env, all ? at::std(t, unbiased) : at::std(t, at::IntArrayRef(dims), unbiased, keep));
      return Wrap(env, all ? at::var(t, unbiased) : at::var(t, at::IntArrayRef(dims), unbiased, keep));
    }
    case ReduceOp::kLogsumexp: {
      if (all) { dims.resize(t.dim()); for (int64_t i = 0; i < t.dim(); ++i) dims[i] = i; }
      return Wrap(env, at::logsumexp(t, dims, keep));
    }
    case ReduceOp::kProd: {
      if (all) return Wrap(env, t.prod());
      if (dims.size() != 1) throw ArgError("prod reduces over exactly one dim");
      return Wrap(env, t.prod(dims[0], keep));
    }
    case ReduceOp::kAll: {
      if (all) return Wrap(env, t.all());
      if (dims.size() != 1) throw ArgError("all reduces over exactly one dim");
      return Wrap(env, t.all(dims[0], keep));
    }
    case ReduceOp::kAny: {
      if (all) return Wrap(env, t.any());
      if (dims.size() != 1) throw ArgError("any reduces over exactly one dim");
      return Wrap(env, t.any(dims[0], keep));
    }
  }
  throw ArgError("unknown reduction code " + std::to_string(code));
})

// maxDim/minDim(t, dim, keepdim) → [values, indices]
TF_FN(MaxDim, {
  auto r = TF_ARG(0, "tensor").max(Int(info[1], "dim"), Bool(info[2], "keepdim"));
  return WrapList(env, {std::get<0>(r), std::get<1>(r)});
})
TF_FN(MinDim, {
  auto r = TF_ARG(0, "tensor").min(Int(info[1], "dim"), Bool(info[2], "keepdim"));
  return WrapList(env, {std::get<0>(r), std::get<1>(r)});
})
TF_FN(Argmax, {
  c10::optional<int64_t> dim;
  if (!info[1].IsNull() && !info[1].IsUndefined()) dim = Int(info[1], "dim");
  return Wrap(env, at::argmax(TF_ARG(0, "tensor"), dim, Bool(info[2], "keepdim")));
})
TF_FN(Argmin, {
  c10::optional<int64_t> dim;
  if (!info[1].IsNull() && !info[1].IsUndefined()) dim = Int(info[1], "dim");
  return Wrap(env, at::argmin(TF_ARG(0, "tensor"), dim, Bool(info[2], "keepdim")));
})
TF_FN(Softmax, { return Wrap(env, at::softmax(TF_ARG(0, "tensor"), Int(info[1], "dim"), OptDType(info[2]))); })
TF_FN(LogSoftmax, { return Wrap(env, at::log_softmax(TF_ARG(0, "tensor"), Int(info[1], "dim"), OptDType(info[2]))); })
TF_FN(Cumsum, { return Wrap(env, at::cumsum(TF_ARG(0, "tensor"), Int(info[1], "dim"), OptDType(info[2]))); })
TF_FN(Gather, { return Wrap(env, at::gather(TF_ARG(0, "tensor"), Int(info[1], "dim"), TF_ARG(2, "index"))); })
TF_FN(Scatter, {
  const at::Tensor& t = TF_ARG(0, "tensor");
  int64_t dim = Int(info[1], "dim");
  const at::Tensor& idx = TF_ARG(2, "index");
  if (info[3].IsNumber()) return Wrap(env, at::scatter(t, dim, idx, ScalarArg(info[3], "value")));
  return Wrap(env, at::scatter(t, dim, idx, TF_ARG(3, "src")));
})
TF_FN(ScatterAdd, { return Wrap(env, at::scatter_add(TF_ARG(0, "tensor"), Int(info[1], "dim"), TF_ARG(2, "index"), TF_ARG(3, "src"))); })
TF_FN(IndexSelect, { return Wrap(env, at::index_select(TF_ARG(0, "tensor"), Int(info[1], "dim"), TF_ARG(2, "index"))); })
TF_FN(MaskedSelect, { return Wrap(env, at::masked_select(TF_ARG(0, "tensor"), TF_ARG(1, "mask"))); })
TF_FN(Nonzero, { return Wrap(env, at::nonzero(TF_ARG(0, "tensor"))); })
// topk(t, k, dim, largest, sorted) → [values, indices]
TF_FN(Topk, {
  auto r = at::topk(TF_ARG(0, "tensor"), Int(info[1], "k"), Int(info[2], "dim"), Bool(info[3], "largest"), Bool(info[4], "sorted"));
  return WrapList(env, {std::get<0>(r), std::get<1>(r)});
})
TF_FN(Sort, {
  auto r = at::sort(TF_ARG(0, "tensor"), Int(info[1], "dim"), Bool(info[2], "descending"));
  return WrapList(env, {std::get<0>(r), std::get<1>(r)});
})
TF_FN(Multinomial, {
  return Wrap(env, at::multinomial(TF_ARG(0, "probs"), Int(info[1], "numSamples"), Bool(info[2], "replacement")));
})
TF_FN(Matmul, { return Wrap(env, at::matmul(TF_ARG(0, "a"), TF_ARG(1, "b"))); })
TF_FN(Bmm, { return Wrap(env, at::bmm(TF_ARG(0, "a"), TF_ARG(1, "b"))); })

}  // namespace

void RegisterMath(Napi::Env env, Exports exports) {
  TF_EXPORT("unary", Unary);
  TF_EXPORT("binary", Binary);
  TF_EXPORT("binaryInplace", BinaryInplace);
  TF_EXPORT("clamp", Clamp);
  TF_EXPORT("where", Where);
  TF_EXPORT("maskedFill", MaskedFill);
  TF_EXPORT("reduce", Reduce);
  TF_EXPORT("maxDim", MaxDim);
  TF_EXPORT("minDim", MinDim);
  TF_EXPORT("argmax", Argmax);
  TF_EXPORT("argmin", Argmin);
  TF_EXPORT("softmax", Softmax);
  TF_EXPORT("logSoftmax", LogSoftmax);
  TF_EXPORT("cumsum", Cumsum);
  TF_EXPORT("gather", Gather);
  TF_EXPORT("scatter", Scatter);
  TF_EXPORT("scatterAdd", ScatterAdd);
  TF_EXPORT("indexSelect", IndexSelect);
  TF_EXPORT("maskedSelect", MaskedSelect);
  TF_EXPORT("nonzero", Nonzero);
  TF_EXPORT("topk", Topk);
  TF_EXPORT("sort", Sort);
  TF_EXPORT("multinomial", Multinomial);
  TF_EXPORT("matmul", Matmul);
  TF_EXPORT("bmm", Bmm);
}

}  // namespace tf
