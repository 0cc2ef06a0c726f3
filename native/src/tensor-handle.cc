// Tensor handles, argument conversion and error translation.
#include "common.h"
#include <atomic>

namespace tf {

static std::atomic<int64_t> g_live{0};
// Storages below this are not reported to V8: the bookkeeping would cost more than it tells.
static constexpr int64_t kReportThreshold = 64 * 1024;

int64_t LiveHandles() { return g_live.load(); }

static void Release(napi_env env, Holder* h) {
  if (h->reportedBytes != 0) {
    int64_t unused;
    napi_adjust_external_memory(env, -h->reportedBytes, &unused);
  }
  if (h->tensor.defined()) g_live--;
  h->magic = 0;
  delete h;
}

// The GC path: memory returns to libtorch here when dispose() was never called.
static void FinalizeHolder(napi_env env, void* data, void*) { Release(env, static_cast<Holder*>(data)); }

Napi::Object Wrap(Napi::Env env, at::Tensor t) {
  auto* h = new Holder();
  if (t.defined() && t.has_storage() && t.storage().use_count() == 1 && t.device().is_cpu()) {
    int64_t bytes = static_cast<int64_t>(t.storage().nbytes());
    if (bytes >= kReportThreshold) {
      h->reportedBytes = bytes;
      Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
    }
  }
  if (t.defined()) g_live++;
  h->tensor = std::move(t);
  Napi::Object obj = Napi::Object::New(env);
  if (napi_wrap(env, obj, h, FinalizeHolder, nullptr, nullptr) != napi_ok) {
    Release(env, h);
    throw std::runtime_error("failed to create a tensor handle");
  }
  return obj;
}

// The holder a handle wraps; nullptr once disposed (the wrap is removed). Throws for anything
// that is not one of our handles.
static Holder* HolderOf(const Napi::Value& v, const char* argName) {
  if (!v.IsObject()) throw ArgError(std::string("argument '") + argName + "' must be a Tensor");
  void* data = nullptr;
  if (napi_unwrap(v.Env(), v, &data) != napi_ok || data == nullptr) return nullptr;
  auto* h = static_cast<Holder*>(data);
  if (h->magic != Holder::kMagic) throw ArgError(std::string("argument '") + argName + "' must be a Tensor");
  return h;
}

bool IsHandleDisposed(const Napi::Value& v) { return HolderOf(v, "tensor") == nullptr; }

bool DisposeHandle(Napi::Env env, const Napi::Value& v) {
  Holder* h = HolderOf(v, "tensor");
  if (h == nullptr) return false;
  void* data = nullptr;
  napi_remove_wrap(env, v, &data);
  Release(env, h);
  return true;
}

Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  Napi::Array arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) arr.Set(static_cast<uint32_t>(i), Wrap(env, ts[i]));
  return arr;
}

static std::string Named(const char* argName, const char* expected) {
  return std::string("argument '") + argName + "' must be " + expected;
}

const at::Tensor& Unwrap(const Napi::Value& v, const char* argName) {
  Holder* h = HolderOf(v, argName);
  if (h == nullptr || !h->tensor.defined())
    throw std::runtime_error(std::string("Tensor passed as '") + argName + "' was disposed");
  return h->tensor;
}

at::Tensor UnwrapOptional(const Napi::Value& v, const char* argName) {
  if (v.IsUndefined() || v.IsNull()) return at::Tensor();
  return Unwrap(v, argName);
}

std::vector<at::Tensor> UnwrapList(const Napi::Value& v, const char* argName) {
  if (!v.IsArray()) throw ArgError(Named(argName, "an array of Tensors"));
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(Unwrap(arr.Get(i), argName));
  return out;
}

std::vector<int64_t> IntList(const Napi::Value& v, const char* argName) {
  if (!v.IsArray()) throw ArgError(Named(argName, "an array of integers"));
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out[i] = Int(arr.Get(i), argName);
  return out;
}

int64_t Int(const Napi::Value& v, const char* argName) {
  if (!v.IsNumber()) throw ArgError(Named(argName, "an integer"));
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d))) throw ArgError(Named(argName, "an integer"));
  return static_cast<int64_t>(d);
}

double Num(const Napi::Value& v, const char* argName) {
  if (!v.IsNumber()) throw ArgError(Named(argName, "a number"));
  return v.As<Napi::Number>().DoubleValue();
}

bool Bool(const Napi::Value& v, const char* argName) {
  if (!v.IsBoolean()) throw ArgError(Named(argName, "a boolean"));
  return v.As<Napi::Boolean>().Value();
}

// Codes shared with src/torch/dtype.ts.
static const at::ScalarType kDTypes[] = {
    at::kFloat, at::kDouble, at::kBFloat16, at::kHalf, at::kLong,
    at::kInt,   at::kBool,   at::kByte,     at::kChar, at::kShort};

at::ScalarType DType(const Napi::Value& v, const char* argName) {
  int64_t code = Int(v, argName);
  if (code < 0 || code >= static_cast<int64_t>(sizeof(kDTypes) / sizeof(kDTypes[0])))
    throw ArgError(Named(argName, "a known dtype code"));
  return kDTypes[code];
}

int DTypeCode(at::ScalarType s) {
  for (int i = 0; i < static_cast<int>(sizeof(kDTypes) / sizeof(kDTypes[0])); ++i)
    if (kDTypes[i] == s) return i;
  return -1;
}

at::Device Device(const Napi::Value& v, const char* argName) {
  if (v.IsUndefined() || v.IsNull()) return at::Device(at::kCPU);
  if (!v.IsString()) throw ArgError(Named(argName, "a device string such as 'cpu' or 'cuda:0'"));
  return at::Device(v.As<Napi::String>().Utf8Value());
}

at::Scalar ScalarArg(const Napi::Value& v, const char* argName) {
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  if (!v.IsNumber()) throw ArgError(Named(argName, "a number"));
  double d = v.As<Napi::Number>().DoubleValue();
  // Integral values stay integral so int tensors do not get promoted to float.
  if (d == static_cast<double>(static_cast<int64_t>(d)) && std::abs(d) < 9007199254740992.0)
    return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

at::TensorOptions Options(const Napi::Value& dtype, const Napi::Value& device) {
  at::TensorOptions o = at::TensorOptions().dtype(DType(dtype, "dtype"));
  return o.device(Device(device, "device"));
}

void ThrowJs(Napi::Env env, const std::exception& e) {
  if (dynamic_cast<const ArgError*>(&e)) {
    Napi::TypeError::New(env, e.what()).ThrowAsJavaScriptException();
    return;
  }
  std::string msg;
  if (auto* ce = dynamic_cast<const c10::Error*>(&e)) msg = ce->what_without_backtrace();
  else msg = e.what();
  auto* data = env.GetInstanceData<AddonData>();
  if (data && !data->errorCtor.IsEmpty()) {
    Napi::Object err = data->errorCtor.New({Napi::String::New(env, msg)});
    Napi::Error(env, err).ThrowAsJavaScriptException();
    return;
  }
  Napi::Error::New(env, msg).ThrowAsJavaScriptException();
}

}  // namespace tf
