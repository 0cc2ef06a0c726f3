// `~section` of a section the schema fills with defaults would silently run on every default:
// it is refused, naming the override; optional sections and single keys can still be removed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadGrpoConfig, loadSftConfig, ConfigOverrideError } from "../../src/config/index.ts";

const data = { model: { preset: "tiny" }, dataset: { path: "arithmetic:add-2d" }, grpo: { beta: 0 }, training: { steps: 7 } };

test("~training (a defaulted section) is refused with the reason", () => {
  assert.throws(
    () => loadGrpoConfig({ data, overrides: ["~training"] }),
    (e: unknown) => e instanceof ConfigOverrideError && /"~training": 'training' is not optional: .*all of its defaults/.test(e.message),
  );
  assert.throws(() => loadSftConfig({ data, overrides: ["~training"] }), /'training' is not optional/);
  assert.throws(() => loadGrpoConfig({ data, overrides: ["~services.generator"] }), /'services.generator' is not optional/);
});

test("keys and optional sections can still be removed", () => {
  assert.equal(loadGrpoConfig({ data, overrides: ["~training.steps"] }).config.training.steps !== 7, true);
  const withRef = { ...data, services: { ref_model: { procs: 1 } } };
  assert.equal(loadGrpoConfig({ data: withRef, overrides: ["~services.ref_model"] }).config.services.refModel, undefined);
});
