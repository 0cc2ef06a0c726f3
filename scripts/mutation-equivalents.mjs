// Surviving mutants that are equivalent: no reachable input tells them from the original code.
// Keyed by "file:line:column", the Stryker mutator and its replacement (whitespace collapsed),
// exactly as scripts/mutation-summary.mjs prints them; each with a one-line reason. A mutant that
// changes behaviour for any reachable input is not equivalent: it needs a test instead.
const S = "src/generation/sampler.ts";
export const EQUIVALENTS = {
  sampler: [
    { at: `${S}:44:9`, mutator: "ConditionalExpression", replacement: "false", reason: "always the alternatives path: the same draw from the same distribution (tests check both paths give the same tokens and logprobs); only speed and float32 rounding of the probabilities differ" },
    { at: `${S}:44:43`, mutator: "BlockStatement", replacement: "{}", reason: "as above: falls through to the alternatives path, same tokens and logprobs" },
    { at: `${S}:46:85`, mutator: "ObjectLiteral", replacement: "{}", reason: "torch.tensor of a Float64Array of length R is 1-D [R] without the shape option" },
    { at: `${S}:54:29`, mutator: "ConditionalExpression", replacement: "false", reason: "`temperature === 1` shortcut removed: x / 1 is exact" },
    { at: `${S}:54:98`, mutator: "UnaryOperator", replacement: "+1", reason: "logits are (R, V): dim 1 is dim -1" },
    { at: `${S}:59:18`, mutator: "UnaryOperator", replacement: "+1", reason: "logits are (R, V): dim 1 is dim -1" },
    { at: `${S}:60:81`, mutator: "ObjectLiteral", replacement: "{}", reason: "torch.tensor of a Float64Array of length R is 1-D [R] without the shape option" },
    { at: `${S}:68:59`, mutator: "ObjectLiteral", replacement: "{}", reason: "topk's dim defaults to -1" },
    { at: `${S}:68:66`, mutator: "UnaryOperator", replacement: "+1", reason: "logp is (R, V): dim 1 is dim -1" },
  ],
};
