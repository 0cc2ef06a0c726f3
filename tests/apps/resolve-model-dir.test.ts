// A model path that is an existing directory without config.json is reported as such (with what a
// model directory holds), not as "not found" with a download hint.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findModelDir, ModelDirectoryError, ModelNotFoundError } from "../../apps/shared/resolve-model.ts";
import { classifyError } from "../../apps/shared/cli.ts";

test("an existing directory without config.json: ModelDirectoryError naming it (a load error)", () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-notamodel-"));
  assert.throws(
    () => findModelDir(dir),
    (e: unknown) => e instanceof ModelDirectoryError && e.message.includes(`${dir} exists but has no config.json`) && !/download/i.test(e.message),
  );
  try {
    findModelDir(dir);
  } catch (e) {
    assert.equal(classifyError(e), "load");
  }
  assert.throws(() => findModelDir(join(dir, "missing")), ModelNotFoundError);
});
