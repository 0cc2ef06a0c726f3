// fp32 linear layers with the weight pre-packed by MKL's packed-GEMM API, for inference.
//
// Why: at the small row counts of batched decoding (M ≈ 1-64), MKL re-packs the weight matrix
// on every sgemm call, and for M = 64 that copy costs as much as the multiply (perf, 100M-param
// model). Packing once per generate call and using cblas_sgemm_compute measured 315-325 vs
// 218-244 GFLOP/s for these shapes. The API is MKL's, so it exists only where libtorch's BLAS is
// MKL (PyPI x86 builds export it); elsewhere `packedLinearAvailable()` is false and callers
// keep using `linear`. The symbols are looked up at run time, so the addon still builds and
// loads against libtorch builds without MKL (Debian's uses OpenBLAS).
#include "common.h"
#include "inference-kernels.h"
#include <ATen/ops/empty.h>
#include <dlfcn.h>

namespace tf {
namespace {

// CBLAS constants (mkl_cblas.h).
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112, kPacked = 151, kBMatrix = 162;

using PackGetSizeFn = size_t (*)(int identifier, int m, int n, int k);
using PackFn = void (*)(int layout, int identifier, int trans, int m, int n, int k, float alpha, const float* src, int ld, float* dest);
using ComputeFn = void (*)(int layout, int transa, int transb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);

struct MklPack {
  PackGetSizeFn getSize = nullptr;
  PackFn pack = nullptr;
  ComputeFn compute = nullptr;
  bool ok() const { return getSize && pack && compute; }
};

void* Find(const char* name) {
  if (void* p = dlsym(RTLD_DEFAULT, name)) return p;
  // libtorch_cpu is loaded as a dependency of this addon, which Node opens RTLD_LOCAL.
  static void* torch = dlopen("libtorch_cpu.so", RTLD_LAZY | RTLD_NOLOAD);
  return torch ? dlsym(torch, name) : nullptr;
}

const MklPack& Mkl() {
  static const MklPack fns = [] {
    MklPack f;
    f.getSize = reinterpret_cast<PackGetSizeFn>(Find("cblas_sgemm_pack_get_size"));
    f.pack = reinterpret_cast<PackFn>(Find("cblas_sgemm_pack"));
    f.compute = reinterpret_cast<ComputeFn>(Find("cblas_sgemm_compute"));
    return f;
  }();
  return fns;
}

void CheckWeight(const at::Tensor& w) {
  if (w.dim() != 2 || w.scalar_type() != at::kFloat || !w.device().is_cpu())
    throw ArgError("argument 'weight' must be a 2-D float32 CPU tensor (outFeatures, inFeatures)");
  if (w.size(0) > INT32_MAX || w.size(1) > INT32_MAX) throw ArgError("argument 'weight' is too large for MKL's 32-bit packed GEMM");
}

// Bytes of the packed form of an (n, k) weight.
int64_t PackedBytes(int64_t n, int64_t k) { return static_cast<int64_t>(Mkl().getSize(kBMatrix, 64, static_cast<int>(n), static_cast<int>(k))); }

// Packs W (N, K) as the right operand of x · Wᵀ into `dest` (a uint8 tensor of PackedBytes).
void PackInto(const at::Tensor& weight, at::Tensor& dest) {
  at::Tensor w = weight.contiguous();
  const int n = static_cast<int>(w.size(0)), k = static_cast<int>(w.size(1));
  // The packed form does not depend on m (MKL's documentation; checked by the tests with other row counts).
  Mkl().pack(kRowMajor, kBMatrix, kTrans, 64, n, k, 1.0f, w.data_ptr<float>(), k, reinterpret_cast<float*>(dest.data_ptr<uint8_t>()));
}

// False in device-generic mode too, so callers keep `linear` (what a GPU runs).
TF_FN(PackedLinearAvailable, { return Napi::Boolean::New(env, Mkl().ok() && !GenericKernels()); })

// packLinearWeight(weight (N, K) float32, into?: packed buffer to reuse) → packed buffer (uint8)
TF_FN(PackLinearWeight, {
  if (!Mkl().ok()) throw std::runtime_error("packed linear layers need libtorch built with MKL (packedLinearAvailable() is false)");
  const at::Tensor& w = TF_ARG(0, "weight");
  CheckWeight(w);
  const int64_t bytes = PackedBytes(w.size(0), w.size(1));
  if (!info[1].IsUndefined() && !info[1].IsNull()) {
    at::Tensor into = Unwrap(info[1], "into");
    if (into.scalar_type() != at::kByte || into.numel() != bytes || !into.is_contiguous())
      throw ArgError("argument 'into' must be the packed buffer of a weight of the same shape");
    PackInto(w, into);
    return info[1];
  }
  at::Tensor dest = at::empty({bytes}, w.options().dtype(at::kByte));
  PackInto(w, dest);
  return Wrap(env, dest);
})

// linearPacked(x (..., K) float32, packed, outFeatures N, inFeatures K, bias?) → (..., N)
TF_FN(LinearPacked, {
  const at::Tensor& xIn = TF_ARG(0, "input");
  const at::Tensor& packed = TF_ARG(1, "packed");
  const int64_t n = Int(info[2], "outFeatures"), k = Int(info[3], "inFeatures");
  at::Tensor bias = UnwrapOptional(info[4], "bias");
  if (xIn.scalar_type() != at::kFloat || !xIn.device().is_cpu() || xIn.dim() < 1 || xIn.size(-1) != k)
    throw ArgError("argument 'input' must be a float32 CPU tensor whose last dim is inFeatures (" + std::to_string(k) + ")");
  if (packed.scalar_type() != at::kByte || n <= 0 || k <= 0 || n > INT32_MAX || k > INT32_MAX || packed.numel() != PackedBytes(n, k))
    throw ArgError("argument 'packed' must be a buffer from packLinearWeight for a (" + std::to_string(n) + ", " + std::to_string(k) + ") weight");
  at::Tensor x = xIn.contiguous();
  const int64_t m = x.numel() / k;
  if (m > INT32_MAX) throw ArgError("argument 'input' has too many rows for MKL's 32-bit packed GEMM");
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = n;
  at::Tensor out = at::empty(shape, x.options());
  if (m > 0)
    Mkl().compute(kRowMajor, kNoTrans, kPacked, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), x.data_ptr<float>(), static_cast<int>(k),
                  reinterpret_cast<const float*>(packed.data_ptr<uint8_t>()), static_cast<int>(k), 0.0f, out.data_ptr<float>(), static_cast<int>(n));
  if (bias.defined()) out.add_(bias);
  return Wrap(env, out);
})

}  // namespace

void RegisterPackedLinear(Napi::Env env, Exports exports) {
  TF_EXPORT("packedLinearAvailable", PackedLinearAvailable);
  TF_EXPORT("packLinearWeight", PackLinearWeight);
  TF_EXPORT("linearPacked", LinearPacked);
}

}  // namespace tf
