/** Integer codes of the native op families; must match native/src/ops-math.cc. */
export const UNARY = {
  exp: 0, log: 1, sqrt: 2, rsqrt: 3, abs: 4, neg: 5, sigmoid: 6, tanh: 7, silu: 8, relu: 9, sin: 10, cos: 11,
  reciprocal: 12, square: 13, log1p: 14, expm1: 15, floor: 16, ceil: 17, round: 18, sign: 19, logicalNot: 20,
  isnan: 21, isinf: 22, isfinite: 23, gelu: 24, logSigmoid: 25, erf: 26,
} as const;

export const BINARY = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, minimum: 5, maximum: 6, eq: 7, ne: 8, lt: 9, le: 10, gt: 11, ge: 12,
  logicalAnd: 13, logicalOr: 14, remainder: 15, floorDivide: 16,
} as const;

export const REDUCE = { sum: 0, mean: 1, amax: 2, amin: 3, std: 4, var: 5, logsumexp: 6, prod: 7, all: 8, any: 9 } as const;
