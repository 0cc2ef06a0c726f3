/**
 * Exporting a model to GGUF: wall time of `exportGguf` and the file size per type, and greedy-token
 * agreement between llama.cpp (node-llama-cpp, CPU) and our engine, both running the exported file,
 * on four chat prompts of SmolLM2-135M-Instruct (its Q4_1 GGUF, dequantised, is the source).
 *
 *   bash scripts/fetch-smollm2.sh && node --import tsx bench/gguf-export.ts [types, default f16,q8_0] [tokens, default 24]
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { loadGguf } from "../src/models/index.ts";
import { exportGguf, type GgufExportType } from "../src/models/gguf-export.ts";
import { agreement, llamaCpp, llamaCppGreedy, oursGreedy } from "../tests/models/llama-cpp-greedy.ts";

const FILE = join(process.env.TORCHFORGE_CACHE ?? join(homedir(), ".cache", "torchforge"), "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf");
if (!existsSync(FILE)) {
  console.error(`${FILE} not found; run \`bash scripts/fetch-smollm2.sh\` first`);
  process.exit(1);
}
const types = (process.argv[2] ?? "f16,q8_0").split(",") as GgufExportType[];
const TOKENS = Number(process.argv[3] ?? 24);
const PROMPTS = ["What is 2+2?", "Name three primary colors.", "Write a haiku about the sea.", "What is the capital of France?"];
const secs = (t0: number): string => ((performance.now() - t0) / 1000).toFixed(1);

let t0 = performance.now();
const { model, tokenizer } = loadGguf(FILE);
console.log(`source: ${FILE} (loadGguf ${secs(t0)} s)`);
const prompts = PROMPTS.map((p) => tokenizer.applyChatTemplate([{ role: "user", content: p }], { addGenerationPrompt: true, tokenize: true }));
const dir = mkdtempSync(join(tmpdir(), "gguf-export-bench-"));
const files: Array<[GgufExportType, string]> = [];
try {
  for (const type of types) {
    const path = join(dir, `smollm2-${type}.gguf`);
    t0 = performance.now();
    const r = exportGguf(model, tokenizer, path, { type, name: "SmolLM2-135M-Instruct" });
    console.log(`export ${type}: ${secs(t0)} s, ${(r.bytes / 2 ** 20).toFixed(1)} MiB, tensors ${JSON.stringify(r.tensorTypes)}`);
    files.push([type, path]);
  }
  model.dispose();
  const llama = await llamaCpp();
  if (typeof llama === "string") console.log(`llama.cpp agreement skipped: ${llama}`);
  else {
    for (const [type, path] of files) {
      t0 = performance.now();
      const theirs = await llamaCppGreedy(path, prompts, TOKENS);
      const tl = secs(t0);
      t0 = performance.now();
      const ours = await oursGreedy(path, prompts, TOKENS);
      const agree = agreement(ours, theirs.tokens);
      console.log(
        `${type}: greedy tokens equal to llama.cpp's before the first difference: ${agree.join("+")} = ${agree.reduce((a, b) => a + b, 0)}/${prompts.length * TOKENS}` +
          ` (llama.cpp ${tl} s incl. load, ours ${secs(t0)} s incl. load)`,
      );
      agree.forEach((n, i) => {
        if (n < TOKENS) console.log(`  prompt ${i}: ours ${JSON.stringify(tokenizer.decode(ours[i]!))} vs llama.cpp ${JSON.stringify(tokenizer.decode(theirs.tokens[i]!))}`);
      });
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
