import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InProcessStore } from "../../src/store/index.ts";
import { torch } from "../../src/torch/index.ts";
import { conformance } from "./fixtures/conformance.ts";

conformance("in-process", async () => {
  const store = new InProcessStore();
  return { store, reader: store, cleanup: () => store.close() };
}, { zeroCopy: true });

describe("in-process store", () => {
  it("owns: disposes what it drops, never what it still holds", async () => {
    const store = new InProcessStore({ owns: true });
    const a = torch.ones([2]);
    const b = torch.ones([2]);
    await store.put("k", new Map([["a", a], ["b", b]]));
    await store.put("k", new Map([["a", a]]));
    assert.equal(a.isDisposed, false);
    assert.equal(b.isDisposed, true);
    await store.delete("k");
    assert.equal(a.isDisposed, true);
  });
});
