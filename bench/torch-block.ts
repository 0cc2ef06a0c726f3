/**
 * One Llama-style transformer block (d_model 512, 8 heads, seq 256, batch 8, RMSNorm, rotary,
 * causal F.scaledDotProductAttention, SwiGLU MLP hidden 1376): forward + backward + AdamW step.
 * The loss is mean(out²) so every parameter gets a gradient. Prints the median step time.
 *   node --import tsx bench/torch-block.ts [steps]
 * TORCHFORGE_CPU_ALLOCATOR / TORCHFORGE_HUGEPAGES select the allocator (bench/run-torch-benchmarks.sh).
 */
import { torch, F, nn, optim, type Tensor } from "../src/torch/index.ts";
import { emit, timeMs } from "./torch-common.ts";

const [B, L, D, H, HIDDEN] = [8, 256, 512, 8, 1376];
const HD = D / H;

class Block extends nn.Module {
  readonly attnNorm = this.registerModule("attn_norm", new nn.RMSNorm(D, { eps: 1e-6 }));
  readonly wq = this.registerModule("wq", new nn.Linear(D, D, { bias: false }));
  readonly wk = this.registerModule("wk", new nn.Linear(D, D, { bias: false }));
  readonly wv = this.registerModule("wv", new nn.Linear(D, D, { bias: false }));
  readonly wo = this.registerModule("wo", new nn.Linear(D, D, { bias: false }));
  readonly mlpNorm = this.registerModule("mlp_norm", new nn.RMSNorm(D, { eps: 1e-6 }));
  readonly gate = this.registerModule("gate", new nn.Linear(D, HIDDEN, { bias: false }));
  readonly up = this.registerModule("up", new nn.Linear(D, HIDDEN, { bias: false }));
  readonly down = this.registerModule("down", new nn.Linear(HIDDEN, D, { bias: false }));

  forward(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
    const h = this.attnNorm.forward(x);
    const heads = (t: Tensor) => t.view(B, L, H, HD).transpose(1, 2);
    const q = F.applyRotaryEmb(heads(this.wq.forward(h)), cos, sin);
    const k = F.applyRotaryEmb(heads(this.wk.forward(h)), cos, sin);
    const v = heads(this.wv.forward(h));
    const a = F.scaledDotProductAttention(q, k, v, { isCausal: true }).transpose(1, 2).reshape(B, L, D);
    const x2 = x.add(this.wo.forward(a));
    const m = this.mlpNorm.forward(x2);
    return x2.add(this.down.forward(F.silu(this.gate.forward(m)).mul(this.up.forward(m))));
  }
}

/** cos/sin tables (L, HD) for rotate-half rotary embedding, base 10000. */
function rotary(): [Tensor, Tensor] {
  return torch.tidy(() => {
    const inv = torch.arange(0, HD, { step: 2, dtype: "float32" }).div(HD).mul(Math.log(10000)).neg().exp();
    const freqs = torch.arange(L, undefined, { dtype: "float32" }).unsqueeze(1).mul(inv.unsqueeze(0));
    const emb = torch.cat([freqs, freqs], -1);
    return [emb.cos(), emb.sin()];
  });
}

torch.manualSeed(0);
const block = new Block();
const opt = new optim.AdamW(block.parameters(), { lr: 1e-4, weightDecay: 0.01 });
const x = torch.randn([B, L, D]);
const [cos, sin] = rotary();

const step = () => {
  block.zeroGrad();
  torch.tidy(() => {
    const out = block.forward(x, cos, sin);
    out.square().mean().backward();
  });
  opt.step();
};
const steps = Number(process.argv[2] ?? 10);
const ms = timeMs(step, steps, 3, 0);
const mode = process.env.TORCHFORGE_CPU_ALLOCATOR ?? "caching";
const hp = process.env.TORCHFORGE_HUGEPAGES === "1" ? "on" : "off";
emit("block", "fwd+bwd+AdamW step", ms, "ms", { allocator: mode === "default" ? "default" : `caching, hugepages ${hp}` });
