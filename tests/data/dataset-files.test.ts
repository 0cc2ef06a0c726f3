// Where dataset.path points: a file, a folder in the Hub's layouts, or a hub id in a (fake) local
// HF cache with blobs, snapshot symlinks and refs, as huggingface_hub writes it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { lstatSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DatasetNotFoundError,
  DataOptionError,
  findHubSnapshot,
  hubCacheDir,
  isHubId,
  loadPromptExamples,
  resolveDatasetFiles,
} from "../../src/data/index.ts";
import { addSnapshot } from "./helpers/fake-hub-cache.ts";
import { writeParquet } from "./helpers/write-parquet.ts";

const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
const qa = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ question: `${tag} ${i}?`, answer: `so #### ${i}` }));

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "tf-dsfiles-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("hub cache location follows HF_HUB_CACHE, then HF_HOME/hub, then ~/.cache/huggingface/hub", () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: "/a", HF_HOME: "/b" }), "/a");
  assert.equal(hubCacheDir({ HF_HOME: "/b" }), "/b/hub");
  assert.match(hubCacheDir({}), /\.cache\/huggingface\/hub$/);
  assert.equal(isHubId("openai/gsm8k"), true);
  for (const p of ["data/train.jsonl", "./x/y", "../shared/datasets/gsm8k", "a/b/c", "train.parquet"]) assert.equal(isHubId(p), false, p);
});

test("a file is its own split; a folder gives the split's files in the Hub's layouts", (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "mine.jsonl"), jsonl(qa(2, "f")));
  assert.deepEqual(resolveDatasetFiles({ path: join(dir, "mine.jsonl"), split: "test" }), {
    files: [join(dir, "mine.jsonl")],
    root: join(dir, "mine.jsonl"),
    singleFile: true,
  });
  writeFileSync(join(dir, "notes.txt"), "x");
  assert.throws(() => resolveDatasetFiles({ path: join(dir, "notes.txt") }), /notes.txt: expected a .jsonl, .json or .parquet file/);

  // Flat: train.jsonl beside test.jsonl; `testing.jsonl` is not the test split.
  const flat = join(dir, "flat");
  mkdirSync(flat);
  for (const f of ["train.jsonl", "test.jsonl", "testing.jsonl"]) writeFileSync(join(flat, f), jsonl(qa(1, f)));
  assert.deepEqual(resolveDatasetFiles({ path: flat, split: "test" }).files, [join(flat, "test.jsonl")]);

  // data/ shards, sorted; one format per split.
  const sharded = join(dir, "sharded");
  mkdirSync(join(sharded, "data"), { recursive: true });
  for (const f of ["train-00001-of-00002.parquet", "train-00000-of-00002.parquet", "test-00000-of-00001.parquet"])
    writeFileSync(join(sharded, "data", f), "");
  assert.deepEqual(resolveDatasetFiles({ path: sharded }).files, [
    join(sharded, "data", "train-00000-of-00002.parquet"),
    join(sharded, "data", "train-00001-of-00002.parquet"),
  ]);

  // The parquet-conversion layout <config>/<split>/0000.parquet, and config subfolders.
  const converted = join(dir, "converted");
  mkdirSync(join(converted, "default", "train"), { recursive: true });
  writeFileSync(join(converted, "default", "train", "0000.parquet"), "");
  assert.deepEqual(resolveDatasetFiles({ path: converted }).files, [join(converted, "default", "train", "0000.parquet")]);
  const configs = join(dir, "configs");
  for (const c of ["main", "socratic"]) {
    mkdirSync(join(configs, c), { recursive: true });
    writeFileSync(join(configs, c, "train-00000-of-00001.parquet"), "");
  }
  assert.equal(
    resolveDatasetFiles({ path: configs }).files[0],
    join(configs, "main", "train-00000-of-00001.parquet"),
    "main/ is searched without a config",
  );
  assert.equal(
    resolveDatasetFiles({ path: configs, config: "socratic" }).files[0],
    join(configs, "socratic", "train-00000-of-00001.parquet"),
  );
  assert.throws(
    () => resolveDatasetFiles({ path: configs, config: "nope" }),
    /no config \(subset\) folder 'nope' here; configs: main, socratic/,
  );
  assert.throws(() => resolveDatasetFiles({ path: configs, split: "../x" }), DataOptionError);
});

test("a missing split says where it looked, which splits and configs exist", (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, "socratic"));
  writeFileSync(join(dir, "socratic", "train-00000-of-00001.parquet"), "");
  writeFileSync(join(dir, "test.jsonl"), "");
  assert.throws(
    () => resolveDatasetFiles({ path: dir, split: "validation" }),
    (e: Error) =>
      e instanceof DatasetNotFoundError &&
      e.message.includes(
        `no files for split 'validation' (looked for validation.jsonl, validation.json, validation.parquet, validation-*.parquet and validation/ in ${dir})`,
      ) &&
      e.message.includes("splits found: test") &&
      e.message.includes("config (subset) folders: socratic (set dataset.config)"),
  );
  assert.throws(
    () => resolveDatasetFiles({ path: join(dir, "nope.jsonl") }),
    /dataset not found at .*nope.jsonl: no such file or folder \(looked at .*nope.jsonl\)/,
  );
});

test("a hub id resolves in the local cache: refs/main, a branch, a commit, the newest snapshot; never a download", async (t) => {
  const cache = tempDir(t);
  const id = "acme/tiny-math";
  const rows = qa(5, "pq").map((r, i) => ({ ...r, level: i }));
  const latest = addSnapshot(
    cache,
    { type: "datasets", id, commit: "c0ffee", refs: ["main"] },
    {
      "main/train-00000-of-00001.parquet": (p) =>
        writeParquet(
          p,
          [
            { name: "question", kind: "string" },
            { name: "answer", kind: "string" },
            { name: "level", kind: "int64" },
          ],
          rows,
          2,
        ),
      "main/test-00000-of-00001.parquet": (p) =>
        writeParquet(
          p,
          [
            { name: "question", kind: "string" },
            { name: "answer", kind: "string" },
          ],
          qa(2, "t"),
          2,
        ),
      "README.md": "---\nconfigs: main\n---",
    },
  );
  const old = addSnapshot(cache, { type: "datasets", id, commit: "0ld", refs: ["v1"] }, { "train.jsonl": jsonl(qa(3, "old")) });
  // A model repo of the same name lives apart (models--) and is not a dataset.
  addSnapshot(cache, { type: "models", id, commit: "m0", refs: ["main"] }, { "config.json": "{}" });
  assert.ok(lstatSync(join(latest, "main", "train-00000-of-00001.parquet")).isSymbolicLink(), "snapshot files are symlinks into blobs/");

  const byId = await loadPromptExamples({ path: id, cacheDir: cache });
  assert.deepEqual(
    byId.map((e) => [e.prompt, e.target]),
    rows.map((r, i) => [r.question, String(i)]),
  );
  assert.equal((await loadPromptExamples({ path: id, cacheDir: cache, split: "test" })).length, 2);
  assert.deepEqual(
    resolveDatasetFiles({ path: id, cacheDir: cache, revision: "v1" }).files,
    [join(old, "train.jsonl")],
    "a branch under refs/",
  );
  assert.deepEqual(
    resolveDatasetFiles({ path: id, cacheDir: cache, revision: "0ld" }).files,
    [join(old, "train.jsonl")],
    "a snapshot commit",
  );
  assert.throws(
    () => resolveDatasetFiles({ path: id, cacheDir: cache, revision: "v9" }),
    /revision 'v9' is neither a ref \(have: main, v1\) nor a snapshot \(have: (0ld, c0ffee|c0ffee, 0ld)\)/,
  );

  // HF_HUB_CACHE is honoured when no cacheDir is passed.
  const saved = process.env.HF_HUB_CACHE;
  process.env.HF_HUB_CACHE = cache;
  t.after(() => (saved === undefined ? delete process.env.HF_HUB_CACHE : (process.env.HF_HUB_CACHE = saved)));
  assert.equal(resolveDatasetFiles({ path: id }).root, latest);

  // Without refs/main the newest snapshot wins.
  rmSync(join(cache, `datasets--acme--tiny-math`, "refs", "main"));
  utimesSync(old, new Date(), new Date(Date.now() + 60_000));
  assert.equal(findHubSnapshot(id, "datasets", { cacheDir: cache }).dir, old);

  assert.throws(
    () => resolveDatasetFiles({ path: "acme/absent", cacheDir: cache }),
    (e: Error) =>
      e instanceof DatasetNotFoundError &&
      e.message.includes(`looked at ${join(process.cwd(), "acme/absent")}, ${join(cache, "datasets--acme--absent", "snapshots")}`) &&
      e.message.includes("Nothing is downloaded") &&
      e.message.includes("huggingface-cli download --repo-type dataset acme/absent"),
  );
});
