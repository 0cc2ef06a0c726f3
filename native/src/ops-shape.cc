// Views, shape changes, joining and splitting, dtype/device moves and in-place copies.
#include "common.h"
#include <ATen/ops/empty.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/split.h>
#include <ATen/ops/split_with_sizes.h>
#include <ATen/ops/chunk.h>
#include <ATen/ops/tril.h>
#include <ATen/ops/triu.h>

namespace tf {

TF_FN(View, { return Wrap(env, TF_ARG(0, "tensor").view(IntList(info[1], "shape"))); })
TF_FN(Reshape, { return Wrap(env, TF_ARG(0, "tensor").reshape(IntList(info[1], "shape"))); })
TF_FN(Transpose, { return Wrap(env, TF_ARG(0, "tensor").transpose(Int(info[1], "dim0"), Int(info[2], "dim1"))); })
TF_FN(Permute, { return Wrap(env, TF_ARG(0, "tensor").permute(IntList(info[1], "dims"))); })
TF_FN(Unsqueeze, { return Wrap(env, TF_ARG(0, "tensor").unsqueeze(Int(info[1], "dim"))); })
TF_FN(Squeeze, {
  const at::Tensor& t = TF_ARG(0, "tensor");
  return Wrap(env, info[1].IsUndefined() ? t.squeeze() : t.squeeze(Int(info[1], "dim")));
})
TF_FN(Expand, { return Wrap(env, TF_ARG(0, "tensor").expand(IntList(info[1], "shape"))); })
TF_FN(Contiguous, { return Wrap(env, TF_ARG(0, "tensor").contiguous()); })
TF_FN(Narrow, { return Wrap(env, TF_ARG(0, "tensor").narrow(Int(info[1], "dim"), Int(info[2], "start"), Int(info[3], "length"))); })
TF_FN(Select, { return Wrap(env, TF_ARG(0, "tensor").select(Int(info[1], "dim"), Int(info[2], "index"))); })
TF_FN(Slice, {
  return Wrap(env, TF_ARG(0, "tensor").slice(Int(info[1], "dim"), Int(info[2], "start"), Int(info[3], "end"), Int(info[4], "step")));
})
TF_FN(Cat, { return Wrap(env, at::cat(UnwrapList(info[0], "tensors"), Int(info[1], "dim"))); })
TF_FN(Stack, { return Wrap(env, at::stack(UnwrapList(info[0], "tensors"), Int(info[1], "dim"))); })
TF_FN(Split, {
  const at::Tensor& t = TF_ARG(0, "tensor");
  int64_t dim = Int(info[2], "dim");
  if (info[1].IsArray()) return WrapList(env, at::split_with_sizes(t, IntList(info[1], "splitSizes"), dim));
  return WrapList(env, at::split(t, Int(info[1], "splitSize"), dim));
})
TF_FN(Chunk, { return WrapList(env, at::chunk(TF_ARG(0, "tensor"), Int(info[1], "chunks"), Int(info[2], "dim"))); })
TF_FN(Flatten, { return Wrap(env, TF_ARG(0, "tensor").flatten(Int(info[1], "startDim"), Int(info[2], "endDim"))); })
TF_FN(Clone, { return Wrap(env, TF_ARG(0, "tensor").clone()); })
TF_FN(Detach, { return Wrap(env, TF_ARG(0, "tensor").detach()); })
TF_FN(Alias, { return Wrap(env, at::Tensor(TF_ARG(0, "tensor"))); })
// to(t, dtype|null, device|null)
TF_FN(To, {
  const at::Tensor& t = TF_ARG(0, "tensor");
  at::ScalarType dt = info[1].IsNull() || info[1].IsUndefined() ? t.scalar_type() : DType(info[1], "dtype");
  at::Device dev = info[2].IsNull() || info[2].IsUndefined() ? t.device() : Device(info[2], "device");
  return Wrap(env, t.to(dev, dt));
})
// toHostPinned(t): a contiguous CPU copy of a device tensor in page-locked memory (device→host
// copies from it run at full bus speed); a CPU tensor comes back as t.contiguous().
TF_FN(ToHostPinned, {
  const at::Tensor& t = TF_ARG(0, "tensor");
  if (t.device().is_cpu()) return Wrap(env, t.contiguous());
  at::Tensor dst = at::empty(t.sizes(), t.options().device(at::kCPU).pinned_memory(true));
  dst.copy_(t.detach());
  return Wrap(env, dst);
})
TF_FN(IsPinned, { return Napi::Boolean::New(env, TF_ARG(0, "tensor").is_pinned()); })
TF_FN(Repeat, { return Wrap(env, TF_ARG(0, "tensor").repeat(IntList(info[1], "repeats"))); })
TF_FN(Tril, { return Wrap(env, at::tril(TF_ARG(0, "tensor"), Int(info[1], "diagonal"))); })
TF_FN(Triu, { return Wrap(env, at::triu(TF_ARG(0, "tensor"), Int(info[1], "diagonal"))); })
TF_FN(Flip, { return Wrap(env, TF_ARG(0, "tensor").flip(IntList(info[1], "dims"))); })
TF_FN(Copy_, {
  at::Tensor t = TF_ARG(0, "tensor");
  t.copy_(TF_ARG(1, "src"));
  return info[0];
})
TF_FN(Fill_, {
  at::Tensor t = TF_ARG(0, "tensor");
  t.fill_(ScalarArg(info[1], "value"));
  return info[0];
})
TF_FN(Zero_, {
  at::Tensor t = TF_ARG(0, "tensor");
  t.zero_();
  return info[0];
})

TF_FN(Uniform_, {
  at::Tensor t = TF_ARG(0, "tensor");
  t.uniform_(Num(info[1], "low"), Num(info[2], "high"));
  return info[0];
})
TF_FN(Normal_, {
  at::Tensor t = TF_ARG(0, "tensor");
  t.normal_(Num(info[1], "mean"), Num(info[2], "std"));
  return info[0];
})
// setData(t, src): t takes src's storage, shape and dtype but keeps its identity (module.to()).
TF_FN(SetData, {
  at::Tensor t = TF_ARG(0, "tensor");
  t.set_data(TF_ARG(1, "src"));
  return info[0];
})

void RegisterShape(Napi::Env env, Exports exports) {
  TF_EXPORT("view", View);
  TF_EXPORT("reshape", Reshape);
  TF_EXPORT("transpose", Transpose);
  TF_EXPORT("permute", Permute);
  TF_EXPORT("unsqueeze", Unsqueeze);
  TF_EXPORT("squeeze", Squeeze);
  TF_EXPORT("expand", Expand);
  TF_EXPORT("contiguous", Contiguous);
  TF_EXPORT("narrow", Narrow);
  TF_EXPORT("select", Select);
  TF_EXPORT("slice", Slice);
  TF_EXPORT("cat", Cat);
  TF_EXPORT("stack", Stack);
  TF_EXPORT("split", Split);
  TF_EXPORT("chunk", Chunk);
  TF_EXPORT("flatten", Flatten);
  TF_EXPORT("clone", Clone);
  TF_EXPORT("detach", Detach);
  TF_EXPORT("alias", Alias);
  TF_EXPORT("to", To);
  TF_EXPORT("toHostPinned", ToHostPinned);
  TF_EXPORT("isPinned", IsPinned);
  TF_EXPORT("repeat", Repeat);
  TF_EXPORT("tril", Tril);
  TF_EXPORT("triu", Triu);
  TF_EXPORT("flip", Flip);
  TF_EXPORT("copy_", Copy_);
  TF_EXPORT("fill_", Fill_);
  TF_EXPORT("zero_", Zero_);
  TF_EXPORT("uniform_", Uniform_);
  TF_EXPORT("normal_", Normal_);
  TF_EXPORT("setData", SetData);
}

}  // namespace tf
