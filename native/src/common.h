// Shared pieces of the addon: the tensor handle (a BigInt naming a slot that owns one
// at::Tensor), argument unwrapping, and the one place C++ exceptions become JS errors.
#pragma once
#include <napi.h>
#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>
#include <string>
#include <vector>

namespace tf {

// A tensor handle is a BigInt whose value encodes a slot index (high 32 bits) and the slot's
// generation (low 32 bits) in tensor-handle.cc's table: creating one costs no V8 global handle,
// unlike an N-API external. `dispose()` bumps the slot's generation, so a stale handle is
// detected ("was disposed") instead of reaching a released tensor. The GC fallback for handles
// never disposed is a FinalizationRegistry on the TypeScript side (only for tensors that
// outlive a `tidy`).
struct AddonData {
  Napi::FunctionReference errorCtor;  // TorchError from src/torch/errors.ts, when registered
};

int64_t LiveHandles();
// Releases a handle's tensor now; false when it was already disposed.
bool DisposeHandle(Napi::Env env, const Napi::Value& v);

// Thrown for a bad JS argument: becomes a JS TypeError naming the argument.
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Napi::Value Wrap(Napi::Env env, at::Tensor t);
Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts);
const at::Tensor& Unwrap(const Napi::Value& v, const char* argName);
at::Tensor UnwrapOptional(const Napi::Value& v, const char* argName);
std::vector<at::Tensor> UnwrapList(const Napi::Value& v, const char* argName);
std::vector<int64_t> IntList(const Napi::Value& v, const char* argName);
int64_t Int(const Napi::Value& v, const char* argName);
double Num(const Napi::Value& v, const char* argName);
bool Bool(const Napi::Value& v, const char* argName);
at::ScalarType DType(const Napi::Value& v, const char* argName);
at::Device Device(const Napi::Value& v, const char* argName);
at::Scalar ScalarArg(const Napi::Value& v, const char* argName);
at::TensorOptions Options(const Napi::Value& dtype, const Napi::Value& device);
int DTypeCode(at::ScalarType s);

void ThrowJs(Napi::Env env, const std::exception& e);

// Every exported function body runs inside TF_GUARD so no C++ exception can abort the process.
#define TF_GUARD(env, ...)                                              \
  try {                                                                  \
    __VA_ARGS__                                                          \
  } catch (const Napi::Error& e) {                                       \
    throw;                                                               \
  } catch (const std::exception& e) {                                    \
    ::tf::ThrowJs(env, e);                                               \
    return env.Undefined();                                              \
  }

using Exports = Napi::Object;
void RegisterCreation(Napi::Env env, Exports exports);
void RegisterShape(Napi::Env env, Exports exports);
void RegisterMath(Napi::Env env, Exports exports);
void RegisterNN(Napi::Env env, Exports exports);
void RegisterAutogradOptim(Napi::Env env, Exports exports);
void RegisterAllocator(Napi::Env env, Exports exports);
void RegisterSampling(Napi::Env env, Exports exports);
void RegisterPackedLinear(Napi::Env env, Exports exports);
void RegisterGguf(Napi::Env env, Exports exports);
void RegisterDistributed(Napi::Env env, Exports exports);
void RegisterGradReducer(Napi::Env env, Exports exports);

#define TF_EXPORT(name, fn) exports.Set(name, Napi::Function::New(env, fn, name))

}  // namespace tf

// Defines one exported function whose body runs under TF_GUARD with `info` and `env` in scope.
#define TF_FN(Name, ...)                                  \
  static Napi::Value Name(const Napi::CallbackInfo& info) { \
    auto env = info.Env();                                \
    TF_GUARD(env, __VA_ARGS__)                            \
  }
#define TF_ARG(i, name) ::tf::Unwrap(info[i], name)
