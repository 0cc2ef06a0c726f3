import { test } from "node:test";
import assert from "node:assert/strict";
import { torch } from "../../src/torch/index.ts";
import { Trainer, sftLossFn, countSftTokens } from "../../src/trainer/index.ts";
import { TinyLM, maxAbsDiff, paramValues } from "./helpers.ts";

torch.setNumThreads(1);

const rows = [
  { ids: [1, 2, 3, 4, 5], mask: [0, 0, 1, 1, 1] },
  { ids: [2, 3, 4, 0, 0], mask: [0, 1, 1, 0, 0] },
  { ids: [5, 6, 7, 8, 9], mask: [0, 0, 0, 0, 1] },
];
const mb = (rs: typeof rows) => ({
  inputIds: torch.tensor(rs.map((r) => r.ids), { dtype: "int64" }),
  lossMask: torch.tensor(rs.map((r) => r.mask), { dtype: "float32" }),
});

test("SFT loss: token mean over masked targets; micro-batches (uneven token counts) equal the full batch", () => {
  const full = mb(rows);
  assert.deepEqual(countSftTokens(full), { tokens: 6, sequences: 3 });
  const parts = [mb(rows.slice(0, 1)), mb(rows.slice(1))];
  const a = new TinyLM(8);
  const b = new TinyLM(8);
  const ta = new Trainer({ model: a, loss: sftLossFn, optimizer: { lr: 1e-2 } });
  const tb = new Trainer({ model: b, loss: sftLossFn, optimizer: { lr: 1e-2 } });
  const ra = ta.trainStep([full]);
  const rb = tb.trainStep(parts);
  assert.equal(ra.tokens, 6);
  assert.equal(rb.tokens, 6);
  assert.ok(Math.abs(ra.loss - rb.loss) < 1e-6);
  assert.ok(Math.abs(ra.loss - Math.log(11)) < 0.5, `initial loss ${ra.loss} ≈ ln V`);
  assert.ok(Math.abs(ra.gradNorm - rb.gradNorm) < 1e-6);
  assert.ok(maxAbsDiff(paramValues(a), paramValues(b)) < 1e-6);
  // It learns: the loss on the same batch falls.
  let last = ra.loss;
  for (let i = 0; i < 30; i++) last = ta.trainStep([full]).loss;
  assert.ok(last < ra.loss * 0.7, `${ra.loss} → ${last}`);
  torch.dispose([full, parts]);
  for (const t of [ta, tb]) t.dispose();
  a.dispose();
  b.dispose();
});
