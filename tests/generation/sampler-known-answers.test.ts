// Known answers for sampleTokens and the per-sequence RNG, computed independently in Python
// (scripts/golden/sampler.py → tests/fixtures/sampler/known-answers.json): exact tokens for
// uniforms in the middle of every kept token's inverse-CDF interval under temperature, top-k,
// top-p and min-p; logprobs of logSoftmax(logits / T); top alternatives per row; sfc32 outputs
// and deriveSeed values (parts beyond 32 bits, negative parts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { torch } from "../../src/torch/index.ts";
import { SequenceRng, sampleTokens } from "../../src/generation/index.ts";
import { deriveSeed } from "../../src/generation/rng.ts";

torch.setNumThreads(1);

interface Case {
  name: string;
  logits: number[][];
  params: { temperature: number; topK: number; topP: number; minP: number };
  bfloat16?: boolean;
  rows: { draws: { u: number; token: number; logprob: number }[]; top: { tokenIds: number[]; logprobs: number[] } }[];
}
const fixture = JSON.parse(readFileSync(new URL("../fixtures/sampler/known-answers.json", import.meta.url), "utf8")) as {
  rng: { seed: number; next32: number[] }[];
  deriveSeed: { parts: number[]; seed: number }[];
  sampling: Case[];
};

const close = (a: number, b: number, what: string, tol = 2e-5): void => assert.ok(Math.abs(a - b) < tol, `${what}: ${a} vs ${b}`);

for (const c of fixture.sampling) {
  test(`sampleTokens known answers: ${c.name}`, () => {
    const draws = Math.max(...c.rows.map((r) => r.draws.length));
    torch.tidy(() => {
      const f32 = torch.tensor(c.logits, { dtype: "float32" });
      const logits = c.bfloat16 ? f32.to("bfloat16") : f32;
      if (c.bfloat16) assert.equal(logits.dtype, "bfloat16");
      // Both paths: the one-pass native draw (no alternatives) and the one that reports them.
      for (const alternatives of [0, 3]) {
        for (let d = 0; d < draws; d++) {
          const picks = c.rows.map((r) => r.draws[d % r.draws.length]!);
          const out = sampleTokens(logits, { ...c.params, logprobs: alternatives }, picks.map((p) => p.u));
          const where = `${alternatives} alternatives, draw ${d}`;
          assert.deepEqual(out.tokens, picks.map((p) => p.token), where);
          picks.forEach((p, r) => close(out.logprobs[r]!, p.logprob, `${where}, row ${r} logprob`));
          if (alternatives === 0) {
            assert.equal(out.top, undefined, `${where}: no alternatives unless asked`);
            continue;
          }
          assert.equal(out.top!.length, c.rows.length);
          c.rows.forEach((row, r) => {
            assert.deepEqual(out.top![r]!.tokenIds, row.top.tokenIds, `${where}, row ${r} alternatives`);
            assert.equal(out.top![r]!.logprobs.length, 3);
            row.top.logprobs.forEach((lp, j) => close(out.top![r]!.logprobs[j]!, lp, `${where}, row ${r} alternative ${j}`));
          });
        }
      }
    });
  });
}

test("sfc32 streams match the reference implementation", () => {
  for (const { seed, next32 } of fixture.rng) {
    const rng = new SequenceRng(seed);
    assert.deepEqual(next32.map(() => rng.next() * 2 ** 32), next32, `seed ${seed}`);
  }
});

test("deriveSeed matches the reference mix, including parts beyond 32 bits and negative parts", () => {
  for (const { parts, seed } of fixture.deriveSeed) assert.equal(deriveSeed(...parts), seed, `parts ${JSON.stringify(parts)}`);
});

test("logits on a CUDA device give the CPU answers (the draw is CPU-only)", (t) => {
  if (!torch.cuda.isAvailable()) return t.skip("libtorch has no CUDA here");
  const c = fixture.sampling.find((s) => s.params.topP < 1 && !s.bfloat16)!;
  torch.tidy(() => {
    const logits = torch.tensor(c.logits, { dtype: "float32" }).to("cuda:0");
    for (const alternatives of [0, 3]) {
      const out = sampleTokens(logits, { ...c.params, logprobs: alternatives }, c.rows.map((r) => r.draws[0]!.u));
      assert.deepEqual(out.tokens, c.rows.map((r) => r.draws[0]!.token));
    }
  });
});
