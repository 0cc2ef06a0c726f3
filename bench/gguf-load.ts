/**
 * Loading a GGUF model: wall time of `loadGguf` (header, tokenizer, native dequantisation of every
 * tensor into float32 parameters), peak RSS of the process, and greedy-token agreement with
 * transformers on the prompts of tests/fixtures/gguf/smollm2-golden.json
 * (scripts/golden/gguf-smollm2.py).
 *
 *   bash scripts/fetch-smollm2.sh && node --import tsx bench/gguf-load.ts [file.gguf]
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { resourceUsage } from "node:process";
import { torch } from "../src/torch/index.ts";
import { loadGguf } from "../src/models/index.ts";
import { GenerationEngine } from "../src/generation/index.ts";

const file =
  process.argv[2] ?? join(process.env.TORCHFORGE_CACHE ?? join(homedir(), ".cache", "torchforge"), "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf");
if (!existsSync(file)) {
  console.error(`${file} not found; run \`bash scripts/fetch-smollm2.sh\` first`);
  process.exit(1);
}
const mb = (b: number): string => (b / 2 ** 20).toFixed(0);
torch.zeros([1]).dispose(); // load libtorch before the baseline
const baseRss = process.memoryUsage().rss;
const t0 = performance.now();
const { model, tokenizer, config, tensorTypes } = loadGguf(file);
const loadS = (performance.now() - t0) / 1000;
const afterRss = process.memoryUsage().rss;
const peakAfterLoad = resourceUsage().maxRSS * 1024;
const params = [...model.stateDict().values()].reduce((n, t) => n + t.numel, 0);
console.log(`file: ${file}`);
console.log(`tensors: ${JSON.stringify(tensorTypes)}; ${config.family}, ${config.numLayers} layers, ${(params / 1e6).toFixed(1)}M params (fp32 ${mb(params * 4)} MiB)`);
console.log(`loadGguf: ${loadS.toFixed(2)} s; RSS before ${mb(baseRss)} MiB, after ${mb(afterRss)} MiB, peak ${mb(peakAfterLoad)} MiB (threads ${torch.getNumThreads()})`);

const goldenPath = "tests/fixtures/gguf/smollm2-golden.json";
if (/SmolLM2-135M-Instruct\.Q4_1\.gguf$/.test(file) && existsSync(goldenPath)) {
  const golden = JSON.parse(readFileSync(goldenPath, "utf8")) as { prompts: string[]; generations: Array<{ prompt_ids: number[]; greedy: number[] }> };
  const engine = new GenerationEngine({ model, tokenizer, maxBatchSize: golden.generations.length, maxSeqLen: 128 });
  const t1 = performance.now();
  const out = await engine.generate(
    golden.generations.map((g) => g.prompt_ids),
    { greedy: true, maxTokens: golden.generations[0]!.greedy.length, ignoreEos: true },
  );
  const genS = (performance.now() - t1) / 1000;
  out.forEach((c, i) => {
    const ref = golden.generations[i]!.greedy;
    let same = 0;
    while (same < ref.length && c.tokenIds[same] === ref[same]) same++;
    console.log(`prompt ${i} ${JSON.stringify(golden.prompts[i])}: ${same}/${ref.length} greedy tokens equal transformers'; ${JSON.stringify(c.text)}`);
  });
  console.log(`generation: ${genS.toFixed(2)} s for ${out.length} × ${golden.generations[0]!.greedy.length} tokens; peak RSS ${mb(resourceUsage().maxRSS * 1024)} MiB`);
}
model.dispose();
