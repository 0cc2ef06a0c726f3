/**
 * Keeps the house one-directional (see ARCHITECTURE.md): no import cycles between files under
 * src/ and apps/, and every import points down the layer table below. A new folder under src/
 * needs a row here; a failure names the file, line and import to move.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type ImportCycle, type ImportGraph, type LayerRule, findCycles, layerViolations, parseImports, readImportGraph } from "./import-graph.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Utility layers at the bottom: anything above may use them. */
const LOW = ["src/util", "src/config", "src/observability"];
/** What "no processes" means for a pure layer. */
const PROCESSES = ["node:child_process", "node:worker_threads", "node:cluster", "node:net", "nats"];
const FILES = ["node:fs", "node:fs/promises"];
/** Every library folder, for the CLI and the apps on top. */
const LIBRARY = [
  ...LOW,
  "src/torch",
  "src/models",
  "src/generation",
  "src/rl",
  "src/trainer",
  "src/actors",
  "src/store",
  "src/data",
  "src/rewards",
  "src/envs",
  "src/serve",
  "src/rollout",
];

/**
 * Who may import whom, bottom to top. Rows for src/envs, src/serve and src/rollout stand before
 * those folders exist. Differences from the order of ARCHITECTURE.md's table, taken from the code:
 * src/rl sits below src/trainer (the trainer takes rl's losses and batches), and the observability
 * layer holds `recordMetric`, so every layer above the utilities may record metrics.
 */
export const LAYERS: Readonly<Record<string, LayerRule>> = {
  "src/util": { mayImport: [] },
  "src/config": { mayImport: ["src/util"] },
  "src/observability": { mayImport: ["src/util"] },
  "src/torch": { mayImport: LOW },
  "src/models": { mayImport: [...LOW, "src/torch"] },
  "src/generation": { mayImport: [...LOW, "src/torch", "src/models"] },
  // Pure functions over tensors and plain data: no actors, store, processes or files.
  "src/rl": { mayImport: [...LOW, "src/torch"], forbiddenPackages: [...PROCESSES, ...FILES] },
  "src/trainer": { mayImport: [...LOW, "src/torch", "src/models", "src/rl"] },
  // Knows nothing about tensors or RL.
  "src/actors": { mayImport: LOW },
  "src/store": { mayImport: [...LOW, "src/torch", "src/actors"] },
  "src/data": { mayImport: LOW, mayImportTypes: ["src/models"] },
  "src/rewards": { mayImport: [...LOW, "src/data"] },
  // Plain data in, plain data out: no torch, no processes, no files.
  "src/envs": { mayImport: [...LOW, "src/rewards", "src/data"], mayImportTypes: ["src/models"], forbiddenPackages: [...PROCESSES, ...FILES] },
  "src/serve": { mayImport: [...LOW, "src/torch", "src/models", "src/generation"] },
  "src/rollout": { mayImport: [...LOW, "src/torch", "src/models", "src/generation", "src/envs", "src/rl", "src/serve", "src/rewards", "src/data"] },
  // The `forge` command names the apps by entry-point path and loads them by URL (no static import).
  "src/cli": { mayImport: LIBRARY },
  "apps/shared": { mayImport: LIBRARY },
  "apps/*": { mayImport: [...LIBRARY, "apps/shared"] },
};

function formatCycles(cycles: ImportCycle[]): string {
  return cycles.map((c) => `  import cycle: ${c.path.join(" → ")}\n    (${c.members.length} files on circles here: ${c.members.join(", ")})`).join("\n");
}

describe("import graph of src/ and apps/", () => {
  const graph = readImportGraph(ROOT, ["src", "apps"]);

  it("reads the real sources", () => {
    assert.ok(graph.files.includes("src/actors/actor.ts") && graph.files.includes("apps/grpo/main.ts"), "src/ and apps/ were scanned");
    assert.ok(graph.edges.some((e) => e.from === "src/actors/launcher.ts" && e.to === "src/actors/endpoint.ts"), "relative imports resolve to files");
  });

  it("has no import cycle", () => {
    const cycles = findCycles(graph.files, graph.edges);
    assert.equal(cycles.length, 0, `\n${formatCycles(cycles)}\nbreak each circle by moving what both sides need into a module that imports neither`);
  });

  it("imports only down the layer table", () => {
    const bad = layerViolations(graph, LAYERS);
    assert.deepEqual(bad, [], `\n  ${bad.join("\n  ")}`);
  });

  it("the layer table itself has no circle", () => {
    const layers = [...new Set([...Object.keys(LAYERS), ...Object.values(LAYERS).flatMap((r) => [...r.mayImport, ...(r.mayImportTypes ?? [])])])];
    const edges = layers.flatMap((from) => [...LAYERS[from]!.mayImport, ...(LAYERS[from]!.mayImportTypes ?? [])].map((to) => ({ from, to })));
    assert.deepEqual(findCycles(layers, edges), []);
  });
});

describe("the checks themselves", () => {
  it("parse static, re-export, type-only and literal dynamic imports, skipping comments and strings", () => {
    const sites = parseImports(
      "x.ts",
      [
        `import { a } from "./a.ts";`,
        `import type { B } from "./b.ts";`,
        `import { type C, type D } from "./c.ts";`,
        `export { e } from "./e.ts";`,
        `export type { F } from "./f.ts";`,
        `import "./side-effect.ts";`,
        `// import { z } from "./commented.ts";`,
        `const s = 'import { q } from "./in-a-string.ts"';`,
        `const lazy = () => import("./lazy.ts");`,
        `const computed = (p: string) => import(p);`,
        `let t: import("./type-query.ts").T;`,
      ].join("\n"),
    );
    assert.deepEqual(
      sites.map((s) => [s.specifier, s.typeOnly, s.dynamic, s.line]),
      [
        ["./a.ts", false, false, 1],
        ["./b.ts", true, false, 2],
        ["./c.ts", true, false, 3],
        ["./e.ts", false, false, 4],
        ["./f.ts", true, false, 5],
        ["./side-effect.ts", false, false, 6],
        ["./lazy.ts", false, true, 9],
        ["./type-query.ts", true, false, 11],
      ],
    );
  });

  it("report a planted cycle as a shortest path and its whole circle, and no cycle in a diamond", () => {
    const files = ["a.ts", "b.ts", "c.ts", "d.ts"];
    const edge = (from: string, to: string) => ({ from, to });
    const planted = [edge("a.ts", "b.ts"), edge("b.ts", "c.ts"), edge("c.ts", "a.ts"), edge("c.ts", "d.ts"), edge("b.ts", "a.ts")];
    assert.deepEqual(findCycles(files, planted), [{ path: ["a.ts", "b.ts", "a.ts"], members: ["a.ts", "b.ts", "c.ts"] }]);
    assert.deepEqual(findCycles(files, [edge("a.ts", "b.ts"), edge("a.ts", "c.ts"), edge("b.ts", "d.ts"), edge("c.ts", "d.ts")]), [], "a diamond");
    assert.deepEqual(findCycles(files, [edge("d.ts", "d.ts")]), [{ path: ["d.ts", "d.ts"], members: ["d.ts"] }], "a file importing itself");
    assert.deepEqual(findCycles(files, [edge("a.ts", "node:fs"), edge("b.ts", "b-missing.ts")]), [], "packages and unknown files are no nodes");
  });

  it("report an upward import, a value import where only types may go, a forbidden package and an unknown folder", () => {
    const graph: ImportGraph = {
      files: ["src/actors/x.ts", "src/torch/t.ts", "src/envs/e.ts", "src/rl/r.ts", "src/newthing/n.ts"],
      edges: [
        { from: "src/actors/x.ts", to: "src/torch/t.ts", specifier: "../torch/t.ts", typeOnly: true, dynamic: false, line: 3, external: false },
        { from: "src/torch/t.ts", to: "src/util/u.ts", specifier: "../util/u.ts", typeOnly: false, dynamic: false, line: 1, external: false },
        { from: "src/envs/e.ts", to: "src/models/m.ts", specifier: "../models/m.ts", typeOnly: true, dynamic: false, line: 1, external: false },
        { from: "src/envs/e.ts", to: "src/models/m.ts", specifier: "../models/m.ts", typeOnly: false, dynamic: false, line: 2, external: false },
        { from: "src/rl/r.ts", to: "node:fs", specifier: "node:fs", typeOnly: false, dynamic: false, line: 4, external: true },
      ],
    };
    const bad = layerViolations(graph, LAYERS);
    assert.equal(bad.length, 4, bad.join("\n"));
    assert.match(bad[0]!, /^src\/newthing\/n\.ts: folder src\/newthing has no row/);
    assert.match(bad[1]!, /^src\/actors\/x\.ts:3 imports src\/torch\/t\.ts \("\.\.\/torch\/t\.ts"\): src\/actors may import only src\/util, src\/config, src\/observability$/);
    assert.match(bad[2]!, /^src\/envs\/e\.ts:2 imports src\/models\/m\.ts .*only `import type` is allowed/);
    assert.match(bad[3]!, /^src\/rl\/r\.ts:4 imports package node:fs, which src\/rl must not use$/);
  });
});
