// Entry point of the torchforge native addon: registers the tensor handle class and every op
// family. The TypeScript side (src/torch/native.ts) describes this surface as one interface.
#include "common.h"

namespace tf {

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
  return exports;
}

}  // namespace tf

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return tf::Init(env, exports); }

NODE_API_MODULE(torchforge_native, InitAddon)
