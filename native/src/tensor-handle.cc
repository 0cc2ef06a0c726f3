// Tensor handles, argument conversion and error translation.
#include "common.h"
#include "op-table.h"
#include <deque>
#include <vector>

namespace tf {

// Storages below this are not reported to V8: the bookkeeping would cost more than it tells.
static constexpr int64_t kReportThreshold = 64 * 1024;

struct Slot {
  at::Tensor tensor;
  uint32_t index = 0;
  uint32_t generation = 1;
  int64_t reportedBytes = 0;
};
// Only the JS thread touches handles, so no lock is needed. A deque keeps references to slots
// valid while new ones are added (an op may hold its inputs while wrapping its outputs).
static std::deque<Slot> g_slots;
static std::vector<uint32_t> g_free;
static int64_t g_live = 0;

int64_t LiveHandles() { return g_live; }

static uint64_t Encode(uint32_t index, uint32_t generation) { return (static_cast<uint64_t>(index) << 32) | generation; }

Napi::Value Wrap(Napi::Env env, at::Tensor t) {
  uint32_t index;
  if (!g_free.empty()) {
    index = g_free.back();
    g_free.pop_back();
  } else {
    index = static_cast<uint32_t>(g_slots.size());
    g_slots.emplace_back();
    g_slots.back().index = index;
  }
  Slot& s = g_slots[index];
  if (t.defined() && t.has_storage() && t.storage().use_count() == 1 && t.device().is_cpu()) {
    int64_t bytes = static_cast<int64_t>(t.storage().nbytes());
    if (bytes >= kReportThreshold) {
      s.reportedBytes = bytes;
      Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
    }
  }
  s.tensor = std::move(t);
  g_live++;
  napi_value out;
  if (napi_create_bigint_uint64(env, Encode(index, s.generation), &out) != napi_ok)
    throw std::runtime_error("failed to create a tensor handle");
  return Napi::Value(env, out);
}

// The live slot a handle names; nullptr once disposed. Throws for anything that is not a handle.
static Slot* SlotOf(const Napi::Value& v, const char* argName) {
  uint64_t code = 0;
  bool lossless = false;
  if (napi_get_value_bigint_uint64(v.Env(), v, &code, &lossless) != napi_ok || !lossless)
    throw ArgError(std::string("argument '") + argName + "' must be a Tensor");
  uint32_t index = static_cast<uint32_t>(code >> 32), generation = static_cast<uint32_t>(code);
  if (index >= g_slots.size()) throw ArgError(std::string("argument '") + argName + "' must be a Tensor");
  Slot& s = g_slots[index];
  return s.generation == generation ? &s : nullptr;
}

bool DisposeHandle(Napi::Env env, const Napi::Value& v) {
  Slot* s = SlotOf(v, "tensor");
  if (s == nullptr) return false;
  if (s->reportedBytes != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -s->reportedBytes);
    s->reportedBytes = 0;
  }
  s->tensor.reset();
  s->generation++;
  g_free.push_back(s->index);
  g_live--;
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
  Slot* s = SlotOf(v, argName);
  if (s == nullptr || !s->tensor.defined())
    throw std::runtime_error(std::string("Tensor passed as '") + argName + "' was disposed");
  return s->tensor;
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

// The scalar type of each dtype code: TF_DTYPES in op-table.h (DTYPES in src/torch/op-codes.ts).
static const at::ScalarType kDTypes[] = {TF_DTYPES(TF_VALUE_OF)};
static_assert(sizeof(kDTypes) / sizeof(kDTypes[0]) == kDTypeCount, "one scalar type per dtype code");

at::ScalarType DType(const Napi::Value& v, const char* argName) {
  int64_t code = Int(v, argName);
  if (code < 0 || code >= kDTypeCount) throw ArgError(Named(argName, "a known dtype code"));
  return kDTypes[code];
}

int DTypeCode(at::ScalarType s) {
  for (int i = 0; i < static_cast<int>(kDTypeCount); ++i)
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
