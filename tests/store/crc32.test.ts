import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { crc32 } from "../../src/store/index.ts";

describe("crc32", () => {
  it("matches the IEEE check value and continues across pieces", () => {
    const bytes = new TextEncoder().encode("123456789");
    assert.equal(crc32(bytes), 0xcbf43926);
    assert.equal(crc32(bytes.subarray(4), crc32(bytes.subarray(0, 4))), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });
});
