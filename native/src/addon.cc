// Entry point of the torchforge native addon: registers every op family's functions and the op
// table. The TypeScript side (src/torch/native.ts) describes this surface as one interface.
#include "common.h"
#include "op-table.h"

namespace tf {

template <size_t N>
static Napi::Array NameList(Napi::Env env, const char* const (&names)[N]) {
  Napi::Array out = Napi::Array::New(env, N);
  for (size_t i = 0; i < N; ++i) out.Set(static_cast<uint32_t>(i), Napi::String::New(env, names[i]));
  return out;
}

// opTable() → every code family's names in code order, exactly as compiled in. src/torch/native.ts
// compares it with the generated src/torch/op-codes.ts at load, so an addon built from another
// op-table.h than the TypeScript was generated from fails loudly instead of running wrong ops.
static Napi::Value OpTable(const Napi::CallbackInfo& info) {
  static const char* const unary[] = {TF_UNARY_OPS(TF_OP_NAME)};
  static const char* const binary[] = {TF_BINARY_OPS(TF_OP_NAME)};
  static const char* const reduce[] = {TF_REDUCE_OPS(TF_OP_NAME)};
  static const char* const dtype[] = {TF_DTYPES(TF_VALUE_NAME)};
  static const char* const lossReduction[] = {TF_LOSS_REDUCTIONS(TF_VALUE_NAME)};
  Napi::Env env = info.Env();
  Napi::Object table = Napi::Object::New(env);
  table.Set("unary", NameList(env, unary));
  table.Set("binary", NameList(env, binary));
  table.Set("reduce", NameList(env, reduce));
  table.Set("dtype", NameList(env, dtype));
  table.Set("lossReduction", NameList(env, lossReduction));
  return table;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<AddonData>(new AddonData());
  RegisterCreation(env, exports);
  RegisterShape(env, exports);
  RegisterMath(env, exports);
  RegisterNN(env, exports);
  RegisterAutogradOptim(env, exports);
  RegisterAllocator(env, exports);
  RegisterSampling(env, exports);
  RegisterPackedLinear(env, exports);
  RegisterGguf(env, exports);
  RegisterDistributed(env, exports);
  RegisterGradReducer(env, exports);
  TF_EXPORT("opTable", OpTable);
  return exports;
}

}  // namespace tf

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return tf::Init(env, exports); }

NODE_API_MODULE(torchforge_native, InitAddon)
