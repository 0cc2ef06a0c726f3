// 16-lane float vectors (GCC vector extensions) for the hand-written CPU kernels
// (inference-kernels.cc, ops-sampling.cc): loads and stores of float32/bfloat16 with partial
// tails, lane sums, bfloat16 rounding and a vectorised exp.
//
// Why by hand: plain loops with float reductions, exp and bfloat16 rounding do not
// auto-vectorise without -ffast-math (which would break -inf masking), and ATen's Vectorized<>
// is compiled per CPU capability inside libtorch, not for code outside it. Functions marked
// TF_CLONES are compiled for AVX-512, AVX2 and baseline x86-64 and picked at load (ifunc).
#pragma once
#include <c10/util/BFloat16.h>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

// Included last by the kernel files: everything after it is compiled at -O3 (the loops rely on
// the vectoriser and full unrolling).
#pragma GCC optimize("O3")
#pragma GCC diagnostic ignored "-Wpsabi"  // vector types only cross internal, same-target calls
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TF_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TF_CLONES
#endif
#define TF_INLINE inline __attribute__((always_inline))

namespace tf {
namespace vec16 {

using BF16 = c10::BFloat16;
constexpr int64_t W = 16;
typedef float Vf __attribute__((vector_size(64)));
typedef int32_t Vi __attribute__((vector_size(64)));
typedef uint32_t Vu __attribute__((vector_size(64)));
typedef uint16_t Vh __attribute__((vector_size(32)));

TF_INLINE Vf Splat(float x) { return Vf{} + x; }
typedef float V8f __attribute__((vector_size(32)));
typedef float V4f __attribute__((vector_size(16)));
// Sum of the lanes by halving (a lane-by-lane loop compiles to 15 dependent scalar extracts).
TF_INLINE float HSum(Vf v) {
  const V8f h8 = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const V4f h4 = __builtin_shufflevector(h8, h8, 0, 1, 2, 3) + __builtin_shufflevector(h8, h8, 4, 5, 6, 7);
  return (h4[0] + h4[2]) + (h4[1] + h4[3]);
}
// The lane sums of four vectors at once, as (Σa, Σb, Σc, Σd): each halving step adds two
// vectors' halves side by side, so four reductions share the shuffles one HSum needs.
TF_INLINE V4f HSum4(Vf a, Vf b, Vf c, Vf d) {
  const Vf ab = __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
                __builtin_shufflevector(a, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  const Vf cd = __builtin_shufflevector(c, d, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
                __builtin_shufflevector(c, d, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  // lanes: a 0-3, b 4-7, c 8-11, d 12-15 (each the sum of 4 partials)
  const Vf abcd = __builtin_shufflevector(ab, cd, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
                  __builtin_shufflevector(ab, cd, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  const V8f pairs = __builtin_shufflevector(abcd, abcd, 0, 1, 4, 5, 8, 9, 12, 13) + __builtin_shufflevector(abcd, abcd, 2, 3, 6, 7, 10, 11, 14, 15);
  return __builtin_shufflevector(pairs, pairs, 0, 2, 4, 6) + __builtin_shufflevector(pairs, pairs, 1, 3, 5, 7);
}
TF_INLINE float HMax(Vf v) {
  float m = v[0];
  for (int i = 1; i < W; i++) m = std::max(m, v[i]);
  return m;
}

// Loads n ≤ W elements (the rest `fill`), as float.
TF_INLINE Vf LoadN(const float* p, int64_t n, float fill = 0.0f) {
  Vf v;
  if (n == W) {
    std::memcpy(&v, p, sizeof v);
  } else {
    v = Splat(fill);
    for (int64_t i = 0; i < n; i++) v[i] = p[i];
  }
  return v;
}
TF_INLINE Vf LoadN(const BF16* p, int64_t n, float fill = 0.0f) {
  Vh h;
  if (n == W) {
    std::memcpy(&h, p, sizeof h);
  } else {
    h = Vh{} + BF16(fill).x;
    for (int64_t i = 0; i < n; i++) h[i] = p[i].x;
  }
  return reinterpret_cast<Vf>(__builtin_convertvector(h, Vu) << 16);
}
// bfloat16 bits of v, rounded to nearest even like c10::BFloat16 (NaN → canonical NaN).
TF_INLINE Vh Bf16Bits(Vf v) {
  const Vu b = reinterpret_cast<Vu>(v);
  const Vu rounded = (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;
  const Vu bits = v != v ? Vu{} + 0x7fc0u : rounded;
  return __builtin_convertvector(bits, Vh);
}
TF_INLINE void StoreN(float* p, Vf v, int64_t n) {
  if (n == W) std::memcpy(p, &v, sizeof v);
  else for (int64_t i = 0; i < n; i++) p[i] = v[i];
}
TF_INLINE void StoreN(BF16* p, Vf v, int64_t n) {
  const Vh h = Bf16Bits(v);
  if (n == W) std::memcpy(p, &h, sizeof h);
  else for (int64_t i = 0; i < n; i++) p[i].x = h[i];
}
// The value an ATen op would hold after writing v to a tensor of type T.
template <typename T>
TF_INLINE Vf Round(Vf v) {
  if constexpr (std::is_same_v<T, float>) return v;
  else return reinterpret_cast<Vf>(__builtin_convertvector(Bf16Bits(v), Vu) << 16);
}

// exp in float32 (Cephes' polynomial after Cody-Waite range reduction, ~1 ulp) for x ≤ 88.7;
// x below -87.3 gives exp(-87.3) ≈ 1e-38, so callers zero masked (-inf) entries themselves.
TF_INLINE Vf Exp(Vf x) {
  x = x > 88.7f ? Splat(88.7f) : x;
  x = x < -87.3f ? Splat(-87.3f) : x;
  const Vf t = x * 1.44269504088896341f + 0.5f;
  Vf n = __builtin_convertvector(__builtin_convertvector(t, Vi), Vf);  // truncates toward 0
  n = n > t ? n - 1.0f : n;                                             // → floor
  Vf r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  Vf p = Splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const Vi bits = (__builtin_convertvector(n, Vi) + 127) << 23;
  return p * reinterpret_cast<Vf>(bits);
}

}  // namespace vec16
}  // namespace tf
