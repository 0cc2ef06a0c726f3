// The one list of integer codes that cross the JS↔C++ boundary: op families dispatched by code
// (one native entry point per family keeps the addon's surface small), the dtype codes and the
// loss reductions. This file is the source of truth, edited by hand. The TypeScript side,
// src/torch/op-codes.ts, is generated from it: after an edit run `npm run gen:op-codes` and
// rebuild the addon. tests/torch/op-table.test.ts fails when the two disagree, and the loaded
// addon's opTable() is checked against the TypeScript table when src/torch/native.ts loads it.
//
// Each family is an X-macro with one row per entry; a row's code is its position (first row 0),
// so add new entries at the END of a family to keep existing codes. Columns:
//   X(cppEnumerator, jsName)          op families: the enumerator is `k` + jsName capitalised
//   X(cppEnumerator, jsName, value)   value families: the libtorch value the code stands for
// scripts/gen-op-codes.ts reads only the first two columns and checks that naming rule.
#pragma once
#include <cstdint>

// native.unary(code, t) — ops-math.cc ApplyUnary
#define TF_UNARY_OPS(X)                 \
  X(kExp, exp)                          \
  X(kLog, log)                          \
  X(kSqrt, sqrt)                        \
  X(kRsqrt, rsqrt)                      \
  X(kAbs, abs)                          \
  X(kNeg, neg)                          \
  X(kSigmoid, sigmoid)                  \
  X(kTanh, tanh)                        \
  X(kSilu, silu)                        \
  X(kRelu, relu)                        \
  X(kSin, sin)                          \
  X(kCos, cos)                          \
  X(kReciprocal, reciprocal)            \
  X(kSquare, square)                    \
  X(kLog1p, log1p)                      \
  X(kExpm1, expm1)                      \
  X(kFloor, floor)                      \
  X(kCeil, ceil)                        \
  X(kRound, round)                      \
  X(kSign, sign)                        \
  X(kLogicalNot, logicalNot)            \
  X(kIsnan, isnan)                      \
  X(kIsinf, isinf)                      \
  X(kIsfinite, isfinite)                \
  X(kGelu, gelu)                        \
  X(kLogSigmoid, logSigmoid)            \
  X(kErf, erf)

// native.binary(code, a, b, reverse?) and native.binaryInplace(code, a, b) — ops-math.cc BinaryTT/BinaryTS
#define TF_BINARY_OPS(X)                \
  X(kAdd, add)                          \
  X(kSub, sub)                          \
  X(kMul, mul)                          \
  X(kDiv, div)                          \
  X(kPow, pow)                          \
  X(kMinimum, minimum)                  \
  X(kMaximum, maximum)                  \
  X(kEq, eq)                            \
  X(kNe, ne)                            \
  X(kLt, lt)                            \
  X(kLe, le)                            \
  X(kGt, gt)                            \
  X(kGe, ge)                            \
  X(kLogicalAnd, logicalAnd)            \
  X(kLogicalOr, logicalOr)              \
  X(kRemainder, remainder)              \
  X(kFloorDivide, floorDivide)

// native.reduce(code, t, dims, keepdim, extra) — ops-math.cc Reduce
#define TF_REDUCE_OPS(X)                \
  X(kSum, sum)                          \
  X(kMean, mean)                        \
  X(kAmax, amax)                        \
  X(kAmin, amin)                        \
  X(kStd, std)                          \
  X(kVar, var)                          \
  X(kLogsumexp, logsumexp)              \
  X(kProd, prod)                        \
  X(kAll, all)                          \
  X(kAny, any)

// Every `dtype` argument and native.dtype(t)'s result — tensor-handle.cc DType/DTypeCode.
// Needs <c10/core/ScalarType.h> where the value column is expanded.
#define TF_DTYPES(X)                    \
  X(kFloat32, float32, at::kFloat)      \
  X(kFloat64, float64, at::kDouble)     \
  X(kBfloat16, bfloat16, at::kBFloat16) \
  X(kFloat16, float16, at::kHalf)       \
  X(kInt64, int64, at::kLong)           \
  X(kInt32, int32, at::kInt)            \
  X(kBool, bool, at::kBool)             \
  X(kUint8, uint8, at::kByte)           \
  X(kInt8, int8, at::kChar)             \
  X(kInt16, int16, at::kShort)

// native.crossEntropy's `reduction` — ops-nn.cc CrossEntropy. Needs <ATen/core/Reduction.h>.
#define TF_LOSS_REDUCTIONS(X)           \
  X(kNone, none, at::Reduction::None)   \
  X(kMean, mean, at::Reduction::Mean)   \
  X(kSum, sum, at::Reduction::Sum)

namespace tf {

#define TF_OP_ENUMERATOR(cpp, js) cpp,
#define TF_VALUE_ENUMERATOR(cpp, js, value) cpp,
#define TF_OP_COUNT(cpp, js) +1
#define TF_VALUE_COUNT(cpp, js, value) +1
#define TF_OP_NAME(cpp, js) #js,
#define TF_VALUE_NAME(cpp, js, value) #js,
#define TF_VALUE_OF(cpp, js, value) value,

// Switching over these (not over raw integers) lets -Wswitch name an op with no case.
enum class UnaryOp : int64_t { TF_UNARY_OPS(TF_OP_ENUMERATOR) };
enum class BinaryOp : int64_t { TF_BINARY_OPS(TF_OP_ENUMERATOR) };
enum class ReduceOp : int64_t { TF_REDUCE_OPS(TF_OP_ENUMERATOR) };
enum class LossReduction : int64_t { TF_LOSS_REDUCTIONS(TF_VALUE_ENUMERATOR) };

constexpr int64_t kUnaryOpCount = 0 TF_UNARY_OPS(TF_OP_COUNT);
constexpr int64_t kBinaryOpCount = 0 TF_BINARY_OPS(TF_OP_COUNT);
constexpr int64_t kReduceOpCount = 0 TF_REDUCE_OPS(TF_OP_COUNT);
constexpr int64_t kDTypeCount = 0 TF_DTYPES(TF_VALUE_COUNT);
constexpr int64_t kLossReductionCount = 0 TF_LOSS_REDUCTIONS(TF_VALUE_COUNT);

}  // namespace tf
