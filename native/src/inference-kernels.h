// Fused CPU inference kernels (inference-kernels.cc). Each returns false, computing nothing,
// when its fast path does not apply (autograd must record, another device or dtype, a layout
// it does not handle); the caller then runs the composite ATen ops.
#pragma once
#include <ATen/core/Tensor.h>
#include <array>

namespace tf {

// out = rmsNorm(x [+ residual]) * weight over the last dim; *sum = x + residual when residual is defined.
bool FusedRmsNorm(const at::Tensor& x, const at::Tensor& residual, const at::Tensor& weight, double eps, at::Tensor* sum, at::Tensor* out);
// Hugging Face rotate-half rotary embedding of x (B, H, T, D) with cos/sin (T, D) or (B, 1, T, D).
bool FusedRotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, at::Tensor* out);
// silu(gate) * up.
bool FusedSiluMul(const at::Tensor& gate, const at::Tensor& up, at::Tensor* out);
// softmax(q·kᵀ·scale + mask) · v for a few query rows per kv head; GQA by head groups, causal
// aligned to the last key. Optional hint (int64 (B) each, or undefined): keys and values
// [0, prefixKeys[b]) of row b equal those of row prefixRows[b] and are read from there.
bool FusedCachedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask, bool causal, double scale,
                          const at::Tensor& prefixRows, const at::Tensor& prefixKeys, at::Tensor* out);

// Device-generic mode: every hand-written CPU path (these kernels, native sampling, MKL packed
// linears) stands aside and the composite ATen ops run, as they do on CUDA. Starts from
// TORCHFORGE_GENERIC_KERNELS=1; tests flip it to run the GPU's code on the CPU.
bool GenericKernels();
void SetGenericKernels(bool on);

// How often each fast path ran (rmsNorm, rotary, siluMul, attention): lets tests prove they did.
std::array<int64_t, 4> FusedKernelCalls();

}  // namespace tf
