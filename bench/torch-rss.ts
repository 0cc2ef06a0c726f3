/**
 * Memory over a long loop: 10,000 train steps of a small MLP (64→256→256→10, batch 32,
 * cross-entropy, AdamW), each step's temporaries released by torch.tidy. Prints RSS after
 * the warm-up (step 500), every 2,000 steps, and at the end, plus live tensor handles.
 * With `yield`, the loop also returns to the event loop every 100 steps (as an async trainer
 * does), which lets Node run the native handles' deferred finalizers.
 *   node --import tsx bench/torch-rss.ts [steps] [yield]
 */
import { torch, F, nn, optim, type Tensor } from "../src/torch/index.ts";
import { emit, rssBytes } from "./torch-common.ts";

const STEPS = Number(process.argv[2] ?? 10_000);
const WARMUP = 500;
const YIELD = process.argv[3] === "yield";

class Mlp extends nn.Module {
  readonly l1 = this.registerModule("l1", new nn.Linear(64, 256));
  readonly l2 = this.registerModule("l2", new nn.Linear(256, 256));
  readonly l3 = this.registerModule("l3", new nn.Linear(256, 10));
  forward(x: Tensor): Tensor {
    return this.l3.forward(F.relu(this.l2.forward(F.relu(this.l1.forward(x)))));
  }
}

torch.manualSeed(0);
const model = new Mlp();
const opt = new optim.AdamW(model.parameters(), { lr: 1e-3 });
let warm = 0;
const samples: number[] = [];
const t0 = performance.now();
for (let step = 1; step <= STEPS; step++) {
  if (YIELD && step % 100 === 0) await new Promise((r) => setImmediate(r));
  model.zeroGrad();
  torch.tidy(() => {
    const x = torch.randn([32, 64]);
    const y = torch.randint(0, 10, [32]);
    F.crossEntropy(model.forward(x), y).backward();
  });
  opt.step();
  if (step === WARMUP) warm = rssBytes();
  if (step % 2000 === 0) samples.push(rssBytes() / 2 ** 20);
}
const ms = (performance.now() - t0) / STEPS;
const end = rssBytes();
const growth = (end / warm - 1) * 100;
emit("rss", `RSS growth, step 500 → ${STEPS}${YIELD ? ", yield every 100 steps" : ", synchronous loop"}`, growth, "%", {
  rssWarmMiB: warm / 2 ** 20, rssEndMiB: end / 2 ** 20, samplesMiB: samples.map((s) => Math.round(s * 10) / 10),
  liveTensors: torch.memory().numTensors, msPerStep: ms,
});
