// GGUF tensor data → float32: the block formats llama.cpp stores weights in (ggml's type ids and
// block layouts, as in ggml-quants.c's dequantize_row_*). The TypeScript side (src/torch/gguf.ts)
// reads the file and hands one tensor's bytes here; the result is a 1-D float32 CPU tensor.
// Done natively because a 135M model is ~10^8 elements and a JS loop would take seconds.
#include "common.h"
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <cstring>

namespace tf {
namespace {

using CI = const Napi::CallbackInfo&;

// ggml_type ids (ggml.h); only the ones handled here.
enum GgmlType : int {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ8_0 = 8, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kBF16 = 30,
};

struct Format {
  int64_t blockElems;
  int64_t blockBytes;
};

bool FormatOf(int type, Format* f) {
  switch (type) {
    case kF32: *f = {1, 4}; return true;
    case kF16: *f = {1, 2}; return true;
    case kBF16: *f = {1, 2}; return true;
    case kQ4_0: *f = {32, 2 + 16}; return true;
    case kQ4_1: *f = {32, 2 + 2 + 16}; return true;
    case kQ8_0: *f = {32, 2 + 32}; return true;
    case kQ4_K: *f = {256, 2 + 2 + 12 + 128}; return true;
    case kQ5_K: *f = {256, 2 + 2 + 12 + 32 + 128}; return true;
    case kQ6_K: *f = {256, 128 + 64 + 16 + 2}; return true;
    default: return false;
  }
}

inline float Half(const uint8_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  return static_cast<float>(c10::Half(bits, c10::Half::from_bits()));
}

// Q4_0: d (f16), 16 bytes of nibbles; low nibbles are elements 0..15, high nibbles 16..31.
void BlockQ4_0(const uint8_t* b, float* y) {
  const float d = Half(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>((qs[j] & 0x0F) - 8) * d;
    y[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
  }
}

// Q4_1: d, m (f16), 16 bytes of nibbles; x = q*d + m.
void BlockQ4_1(const uint8_t* b, float* y) {
  const float d = Half(b), m = Half(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>(qs[j] & 0x0F) * d + m;
    y[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
  }
}

// Q8_0: d (f16), 32 signed bytes.
void BlockQ8_0(const uint8_t* b, float* y) {
  const float d = Half(b);
  const int8_t* qs = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(qs[j]) * d;
}

// K-quant sub-block scale and min: 8 pairs of 6-bit values packed into 12 bytes.
inline void ScaleMinK4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q4_K: d, dmin (f16), scales[12], qs[128]; 8 sub-blocks of 32 with their own scale and min.
void BlockQ4_K(const uint8_t* b, float* y) {
  const float d = Half(b), dmin = Half(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  int is = 0;
  for (int j = 0; j < 256; j += 64) {
    uint8_t sc, m;
    ScaleMinK4(is, scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    ScaleMinK4(is + 1, scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0x0F) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    q += 32;
    is += 2;
  }
}

// Q5_K: as Q4_K plus a fifth bit per element in qh[32].
void BlockQ5_K(const uint8_t* b, float* y) {
  const float d = Half(b), dmin = Half(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* ql = b + 48;
  int is = 0;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0; j < 256; j += 64) {
    uint8_t sc, m;
    ScaleMinK4(is, scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    ScaleMinK4(is + 1, scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>((ql[l] & 0x0F) + ((qh[l] & u1) ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
    ql += 32;
    is += 2;
    u1 <<= 2;
    u2 <<= 2;
  }
}

// Q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), 16 signed 8-bit scales, d (f16).
void BlockQ6_K(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = Half(b + 208);
  for (int n = 0; n < 256; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = static_cast<int>((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = static_cast<int>((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = static_cast<int>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = static_cast<int>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

void Element(int type, const uint8_t* b, float* y) {
  switch (type) {
    case kF32: std::memcpy(y, b, 4); break;
    case kF16: *y = Half(b); break;
    case kBF16: {
      uint16_t bits;
      std::memcpy(&bits, b, 2);
      *y = static_cast<float>(c10::BFloat16(bits, c10::BFloat16::from_bits()));
      break;
    }
    case kQ4_0: BlockQ4_0(b, y); break;
    case kQ4_1: BlockQ4_1(b, y); break;
    case kQ8_0: BlockQ8_0(b, y); break;
    case kQ4_K: BlockQ4_K(b, y); break;
    case kQ5_K: BlockQ5_K(b, y); break;
    case kQ6_K: BlockQ6_K(b, y); break;
  }
}

// ggufDequantize(data: TypedArray|Buffer, ggmlType: number, numel: number) → float32 [numel].
Napi::Value GgufDequantize(CI info) {
  auto env = info.Env();
  TF_GUARD(env, {
    if (!info[0].IsTypedArray() && !info[0].IsBuffer()) throw ArgError("argument 'data' must be a TypedArray or Buffer");
    auto ta = info[0].As<Napi::TypedArray>();
    const uint8_t* src = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    const size_t nbytes = ta.ByteLength();
    const int type = static_cast<int>(Int(info[1], "ggmlType"));
    const int64_t numel = Int(info[2], "numel");
    Format f;
    if (!FormatOf(type, &f)) throw ArgError("argument 'ggmlType': unsupported ggml type " + std::to_string(type));
    if (numel < 0 || numel % f.blockElems != 0)
      throw ArgError("argument 'numel' (" + std::to_string(numel) + ") must be a multiple of the block size " + std::to_string(f.blockElems));
    const int64_t blocks = numel / f.blockElems;
    if (static_cast<int64_t>(nbytes) != blocks * f.blockBytes)
      throw ArgError("data has " + std::to_string(nbytes) + " bytes but " + std::to_string(numel) + " elements of ggml type " +
                     std::to_string(type) + " need " + std::to_string(blocks * f.blockBytes));
    at::Tensor out = at::empty({numel}, at::TensorOptions().dtype(at::kFloat));
    float* y = out.data_ptr<float>();
    // Blocks are independent; a grain of a few thousand keeps small tensors on one thread.
    at::parallel_for(0, blocks, 4096 / f.blockElems + 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) Element(type, src + i * f.blockBytes, y + i * f.blockElems);
    });
    return Wrap(env, std::move(out));
  })
}

}  // namespace

void RegisterGguf(Napi::Env env, Exports exports) { TF_EXPORT("ggufDequantize", GgufDequantize); }

}  // namespace tf
