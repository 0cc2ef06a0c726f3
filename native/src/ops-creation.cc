// Creation, conversion to and from JS memory, metadata and disposal.
#include "common.h"
#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <ATen/Parallel.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/full.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/eye.h>
#include <torch/version.h>
#include <cstring>

namespace tf {
namespace {

using CI = const Napi::CallbackInfo&;

// fromBuffer(view: TypedArray|Buffer, shape, dtype, device): copies the bytes into a new tensor.
Napi::Value FromBuffer(CI info) {
  auto env = info.Env();
  TF_GUARD(env, {
    if (!info[0].IsTypedArray() && !info[0].IsBuffer() && !info[0].IsArrayBuffer())
      throw ArgError("argument 'data' must be a TypedArray or Buffer");
    uint8_t* src;
    size_t nbytes;
    if (info[0].IsArrayBuffer()) {
      auto ab = info[0].As<Napi::ArrayBuffer>();
      src = static_cast<uint8_t*>(ab.Data());
      nbytes = ab.ByteLength();
    } else {
      auto ta = info[0].As<Napi::TypedArray>();
      src = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      nbytes = ta.ByteLength();
    }
    auto shape = IntList(info[1], "shape");
    auto dtype = DType(info[2], "dtype");
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (t.nbytes() != nbytes)
      throw ArgError("data has " + std::to_string(nbytes) + " bytes but shape and dtype need " +
                     std::to_string(t.nbytes()));
    if (nbytes) std::memcpy(t.data_ptr(), src, nbytes);
    at::Device dev = Device(info[3], "device");
    if (!dev.is_cpu()) t = t.to(dev);
    return Wrap(env, std::move(t));
  })
}

Napi::Value Empty(CI info) {
  auto env = info.Env();
  TF_GUARD(env, { return Wrap(env, at::empty(IntList(info[0], "shape"), Options(info[1], info[2]))); })
}
Napi::Value Zeros(CI info) {
  auto env = info.Env();
  TF_GUARD(env, { return Wrap(env, at::zeros(IntList(info[0], "shape"), Options(info[1], info[2]))); })
}
Napi::Value Ones(CI info) {
  auto env = info.Env();
  TF_GUARD(env, { return Wrap(env, at::ones(IntList(info[0], "shape"), Options(info[1], info[2]))); })
}
Napi::Value Full(CI info) {
  auto env = info.Env();
  TF_GUARD(env, {
    return Wrap(env, at::full(IntList(info[0], "shape"), ScalarArg(info[3], "fillValue"), Options(info[1], info[2])));
  })
}
Napi::Value Eye(CI info) {
  auto env = info.Env();
  TF_GUARD(env, { return Wrap(env, at::eye(Int(info[0], "n"), Options(info[1], info[2]))); })
}
// arange(start, end, step, dtype, device)
Napi::Value Arange(CI info) {
  auto env = info.Env();
  TF_GUARD(env, {
    return Wrap(env, at::arange(ScalarArg(info[0], "start"), ScalarArg(info[1], "end"), ScalarArg(info[2], "step"),
                                Options(info[3], info[4])));
  })
}
Napi::Value Randn(CI info) {
  auto env = info.Env();
  TF_GUARD(env, { return Wrap(env, at::randn(IntList(info[0], "shape"), Options(info[1], info[2]))); })
}
Napi::Value Rand(CI info) {
  auto env = info.Env();
  TF_GUARD(env, { return Wrap(env, at::rand(IntList(info[0], "shape"), Options(info[1], info[2]))); })
}
// randint(low, high, shape, dtype, device)
Napi::Value Randint(CI info) {
  auto env = info.Env();
  TF_GUARD(env, {
    return Wrap(env, at::randint(Int(info[0], "low"), Int(info[1], "high"), IntList(info[2], "shape"),
                                 Options(info[3], info[4])));
  })
}
Napi::Value ManualSeed(CI info) {
  auto env = info.Env();
  TF_GUARD(env, {
    // Seeds CPU and (when present) CUDA generators, as torch.manual_seed does.
    at::manual_seed(static_cast<uint64_t>(Int(info[0], "seed")));
    return env.Undefined();
  })
}

// toBuffer(t): a new Buffer holding the contiguous CPU bytes of t.
Napi::Value ToBuffer(CI info) {
  auto env = info.Env();
  TF_GUARD(env, {
    at::Tensor t = Unwrap(info[0], "tensor").detach();
    if (!t.device().is_cpu()) t = t.cpu();
    t = t.contiguous();
    auto buf = Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(t.data_ptr()), t.nbytes());
    return buf;
  })
}

// dataView(t): an ArrayBuffer that aliases t's memory (CPU, contiguous). The ArrayBuffer keeps
// a reference to the storage, so the memory lives as long as either side uses it.
Napi::Value DataView(CI info) {
  auto env = info.Env();
  TF_GUARD(env, {
    const at::Tensor& t = Unwrap(info[0], "tensor");
    if (!t.device().is_cpu() || !t.is_contiguous())
      throw std::runtime_error("dataView needs a contiguous CPU tensor; call .contiguous() or .to('cpu') first");
    auto* keep = new at::Tensor(t);
    if (t.nbytes() == 0) { delete keep; return Napi::ArrayBuffer::New(env, 0); }
    return Napi::ArrayBuffer::New(env, t.data_ptr(), t.nbytes(),
                                  [](Napi::Env, void*, at::Tensor* hold) { delete hold; }, keep);
  })
}

Napi::Value Item(CI info) {
  auto env = info.Env();
  TF_GUARD(env, {
    const at::Tensor& t = Unwrap(info[0], "tensor");
    if (t.numel() != 1)
      throw std::runtime_error("item() needs a tensor with one element, got " + std::to_string(t.numel()));
    at::Scalar s = t.item();
    if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
    if (s.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(s.toLong()));
    return Napi::Number::New(env, s.toDouble());
  })
}

Napi::Value RequiresGrad(CI info) {
  auto env = info.Env();
  TF_GUARD(env, { return Napi::Boolean::New(env, Unwrap(info[0], "tensor").requires_grad()); })
}

Napi::Value Shape(CI info) {
  auto env = info.Env();
  TF_GUARD(env, {
    auto sizes = Unwrap(info[0], "tensor").sizes();
    Napi::Array shape = Napi::Array::New(env, sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i) shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, sizes[i]));
    return shape;
  })
}
Napi::Value DTypeOf(CI info) {
  auto env = info.Env();
  TF_GUARD(env, { return Napi::Number::New(env, DTypeCode(Unwrap(info[0], "tensor").scalar_type())); })
}
Napi::Value DeviceOf(CI info) {
  auto env = info.Env();
  TF_GUARD(env, { return Napi::String::New(env, Unwrap(info[0], "tensor").device().str()); })
}
Napi::Value IsContiguous(CI info) {
  auto env = info.Env();
  TF_GUARD(env, { return Napi::Boolean::New(env, Unwrap(info[0], "tensor").is_contiguous()); })
}
Napi::Value Dispose(CI info) {
  auto env = info.Env();
  TF_GUARD(env, {
    DisposeHandle(env, info[0]);
    return env.Undefined();
  })
}

Napi::Value SetNumThreads(CI info) {
  auto env = info.Env();
  TF_GUARD(env, {
    int64_t n = Int(info[0], "threads");
    if (n < 1) throw ArgError("argument 'threads' must be >= 1");
    at::set_num_threads(static_cast<int>(n));
    return env.Undefined();
  })
}
Napi::Value GetNumThreads(CI info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}
Napi::Value LiveTensors(CI info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LiveHandles()));
}
Napi::Value SetErrorClass(CI info) {
  auto env = info.Env();
  if (!info[0].IsFunction()) {
    Napi::TypeError::New(env, "argument 'errorClass' must be a constructor").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  env.GetInstanceData<AddonData>()->errorCtor = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}
Napi::Value Version(CI info) {
  return Napi::String::New(info.Env(), TORCH_VERSION);
}
Napi::Value CudaAvailable(CI info) {
  return Napi::Boolean::New(info.Env(), at::hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0);
}
Napi::Value CudaDeviceCount(CI info) {
  return Napi::Number::New(info.Env(), at::hasCUDA() ? static_cast<double>(at::detail::getCUDAHooks().getNumGPUs()) : 0.0);
}

}  // namespace

void RegisterCreation(Napi::Env env, Exports exports) {
  TF_EXPORT("fromBuffer", FromBuffer);
  TF_EXPORT("empty", Empty);
  TF_EXPORT("zeros", Zeros);
  TF_EXPORT("ones", Ones);
  TF_EXPORT("full", Full);
  TF_EXPORT("eye", Eye);
  TF_EXPORT("arange", Arange);
  TF_EXPORT("randn", Randn);
  TF_EXPORT("rand", Rand);
  TF_EXPORT("randint", Randint);
  TF_EXPORT("manualSeed", ManualSeed);
  TF_EXPORT("toBuffer", ToBuffer);
  TF_EXPORT("dataView", DataView);
  TF_EXPORT("item", Item);
  TF_EXPORT("requiresGrad", RequiresGrad);
  TF_EXPORT("shape", Shape);
  TF_EXPORT("dtype", DTypeOf);
  TF_EXPORT("device", DeviceOf);
  TF_EXPORT("isContiguous", IsContiguous);
  TF_EXPORT("dispose", Dispose);
  TF_EXPORT("setNumThreads", SetNumThreads);
  TF_EXPORT("getNumThreads", GetNumThreads);
  TF_EXPORT("version", Version);
  TF_EXPORT("liveTensors", LiveTensors);
  TF_EXPORT("setErrorClass", SetErrorClass);
  TF_EXPORT("cudaIsAvailable", CudaAvailable);
  TF_EXPORT("cudaDeviceCount", CudaDeviceCount);
}

}  // namespace tf
