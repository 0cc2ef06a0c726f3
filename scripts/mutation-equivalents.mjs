// Surviving mutants that are equivalent: no reachable input tells them from the original code.
// Keyed by "file:line:column-endLine:endColumn", the Stryker mutator and its replacement (whitespace collapsed),
// exactly as scripts/mutation-summary.mjs prints them; each with a one-line reason. A mutant that
// changes behaviour for any reachable input is not equivalent: it needs a test instead. One entry
// covers every mutant with the same key.
export const EQUIVALENTS = {
  "rl": [
    { at: "src/rl/advantages.ts:29:50-29:65", mutator: "ConditionalExpression", replacement: "false", reason: "mean([]) is NaN instead of 0, but every caller either returns before using it (std, grpoAdvantages, REINFORCE++) or maps over the same empty list" },
    { at: "src/rl/advantages.ts:43:9-43:30", mutator: "ConditionalExpression", replacement: "false", reason: "`typeof r !== \"number\"` dropped: Number.isFinite is false for every non-number too" },
    { at: "src/rl/advantages.ts:101:7-101:23", mutator: "ConditionalExpression", replacement: "false", reason: "`all.length === 0` dropped: isZeroVariance([]) is true, same early return" },
    { at: "src/rl/advantages.ts:104:43-104:48", mutator: "ArithmeticOperator", replacement: "a + m", reason: "m is the mean of group-centred values, 0 up to rounding: ±m moves results only at the rounding level of the centring itself" },
  ],
  "replay-buffer": [
    { at: "src/rl/replay-buffer.ts:149:17-149:38", mutator: "ConditionalExpression", replacement: "false", reason: "`typeof e !== \"object\"` dropped: a non-object entry has no integer sampleCount, so the next check throws the same error" },
  ],
  "trainer": [
    { at: "src/trainer/step-metrics.ts:72:7-72:37", mutator: "ConditionalExpression", replacement: "true", reason: "an undefined loss scale is deleted again by the non-finite filter at the end of trainStepMetrics" },
  ],
  "kv-cache": [
    { at: "src/generation/kv-cache.ts:78:18-78:35", mutator: "ArithmeticOperator", replacement: "this.numSlots + 1", reason: "batchRows' scan starts two past the end: #live there is undefined (not live), same first live slot found" },
    { at: "src/generation/kv-cache.ts:91:21-91:26", mutator: "ArithmeticOperator", replacement: "i - n", reason: "the run search keeps going past the end, where free[] is undefined and never matches: same first run" },
    { at: "src/generation/kv-cache.ts:109:9-109:16", mutator: "ConditionalExpression", replacement: "true", reason: "move of an empty sequence copies zero columns: a no-op" },
    { at: "src/generation/kv-cache.ts:109:9-109:16", mutator: "EqualityOperator", replacement: "len >= 0", reason: "move of an empty sequence copies zero columns: a no-op" },
    { at: "src/generation/kv-cache.ts:130:21-130:38", mutator: "EqualityOperator", replacement: "s <= this.numSlots", reason: "the extra index reads #live[numSlots], undefined (not live)" },
    { at: "src/generation/kv-cache.ts:130:49-130:62", mutator: "ConditionalExpression", replacement: "true", reason: "free slots' start always equals col (release, advance and #shiftTo set it), so lo = min(…, col) is unchanged" },
    { at: "src/generation/kv-cache.ts:138:9-138:52", mutator: "ConditionalExpression", replacement: "false", reason: "#shiftTo's bounds check cannot fire: reserveForPrompt and reserveDecodeColumn pass width <= newCol <= columns" },
    { at: "src/generation/kv-cache.ts:138:9-138:27", mutator: "ConditionalExpression", replacement: "false", reason: "#shiftTo's bounds check cannot fire: reserveForPrompt and reserveDecodeColumn pass width <= newCol <= columns" },
    { at: "src/generation/kv-cache.ts:138:9-138:52", mutator: "LogicalOperator", replacement: "newCol - width < 0 && newCol > this.columns", reason: "#shiftTo's bounds check cannot fire (see above)" },
    { at: "src/generation/kv-cache.ts:138:9-138:23", mutator: "ArithmeticOperator", replacement: "newCol + width", reason: "#shiftTo's bounds check cannot fire (see above)" },
    { at: "src/generation/kv-cache.ts:138:31-138:52", mutator: "ConditionalExpression", replacement: "false", reason: "#shiftTo's bounds check cannot fire (see above)" },
    { at: "src/generation/kv-cache.ts:139:9-139:41", mutator: "ConditionalExpression", replacement: "true", reason: "a zero-width or in-place shift copies a clone onto itself: a no-op" },
    { at: "src/generation/kv-cache.ts:139:9-139:18", mutator: "ConditionalExpression", replacement: "true", reason: "a zero-width or in-place shift copies a clone onto itself: a no-op" },
    { at: "src/generation/kv-cache.ts:139:9-139:41", mutator: "LogicalOperator", replacement: "width > 0 || newCol !== this.col", reason: "a zero-width or in-place shift copies a clone onto itself: a no-op" },
    { at: "src/generation/kv-cache.ts:139:9-139:18", mutator: "EqualityOperator", replacement: "width >= 0", reason: "a zero-width shift copies zero columns: a no-op" },
    { at: "src/generation/kv-cache.ts:139:22-139:41", mutator: "ConditionalExpression", replacement: "true", reason: "an in-place shift copies a clone onto the same columns: a no-op" },
    { at: "src/generation/kv-cache.ts:148:21-148:38", mutator: "EqualityOperator", replacement: "s <= this.numSlots", reason: "writes one past the end of Int32Arrays (ignored) after reading #live[numSlots] (undefined)" },
    { at: "src/generation/kv-cache.ts:150:11-150:24", mutator: "ConditionalExpression", replacement: "true", reason: "a free slot's promptEnd is only read for live slots in a group, and prefillHook/move rewrite it before that" },
    { at: "src/generation/kv-cache.ts:157:9-157:27", mutator: "EqualityOperator", replacement: "this.col > length", reason: "at col === length the shift it adds targets max(length, width) = col: a no-op" },
    { at: "src/generation/kv-cache.ts:179:36-179:65", mutator: "ArrowFunction", replacement: "() => undefined", reason: "contiguous false: the per-slot prefill write stores the same values" },
    { at: "src/generation/kv-cache.ts:179:46-179:65", mutator: "ConditionalExpression", replacement: "false", reason: "contiguous false: the per-slot prefill write stores the same values" },
    { at: "src/generation/kv-cache.ts:179:46-179:65", mutator: "EqualityOperator", replacement: "s !== slots[0]! + i", reason: "false at i = 0, so contiguous is false: the per-slot write stores the same values" },
    { at: "src/generation/kv-cache.ts:190:15-190:25", mutator: "ConditionalExpression", replacement: "false", reason: "always the per-slot prefill write: same values" },
    { at: "src/generation/kv-cache.ts:218:108-218:113", mutator: "BooleanLiteral", replacement: "true", reason: "a decode query is one token: the causal mask keeps every key (sdpa's tril(lk − 1), the fused kernel's `causal && Lq > 1`)" },
    { at: "src/generation/kv-cache.ts:251:21-251:38", mutator: "EqualityOperator", replacement: "s <= this.numSlots", reason: "writes one past the end of an Int32Array (ignored)" },
  ],
  "sampler": [
    { at: "src/generation/sampler.ts:44:9-44:41", mutator: "ConditionalExpression", replacement: "false", reason: "always the alternatives path: the same draw from the same distribution (tests check both paths give the same tokens and logprobs); only speed and float32 rounding of the probabilities differ" },
    { at: "src/generation/sampler.ts:44:43-53:6", mutator: "BlockStatement", replacement: "{}", reason: "as above: falls through to the alternatives path, same tokens and logprobs" },
    { at: "src/generation/sampler.ts:46:85-46:99", mutator: "ObjectLiteral", replacement: "{}", reason: "torch.tensor of a Float64Array of length R is 1-D [R] without the shape option" },
    { at: "src/generation/sampler.ts:54:29-54:53", mutator: "ConditionalExpression", replacement: "false", reason: "`temperature === 1` shortcut removed: x / 1 is exact" },
    { at: "src/generation/sampler.ts:54:98-54:100", mutator: "UnaryOperator", replacement: "+1", reason: "logits are (R, V): dim 1 is dim -1" },
    { at: "src/generation/sampler.ts:59:18-59:20", mutator: "UnaryOperator", replacement: "+1", reason: "logits are (R, V): dim 1 is dim -1" },
    { at: "src/generation/sampler.ts:60:81-60:95", mutator: "ObjectLiteral", replacement: "{}", reason: "torch.tensor of a Float64Array of length R is 1-D [R] without the shape option" },
    { at: "src/generation/sampler.ts:68:59-68:70", mutator: "ObjectLiteral", replacement: "{}", reason: "topk's dim defaults to -1" },
    { at: "src/generation/sampler.ts:68:66-68:68", mutator: "UnaryOperator", replacement: "+1", reason: "logp is (R, V): dim 1 is dim -1" },
  ],
};
