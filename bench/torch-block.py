"""Python peer of bench/torch-block.ts: the same block and the same math in torch 1.13 ops
(1.13 has no SDPA, so attention is written out exactly as the addon's 1.13 path does it:
matmul, scale, masked_fill with a tril mask, float softmax, matmul).
   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch-block.py [steps]"""
import json, math, sys, time, statistics, warnings
warnings.filterwarnings("ignore")
import torch
from torch import nn
import torch.nn.functional as F
torch.set_num_threads(2)

B, L, D, H, HIDDEN = 8, 256, 512, 8, 1376
HD = D // H

class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__(); self.eps = eps; self.weight = nn.Parameter(torch.ones(dim))
    def forward(self, x):  # same op sequence as the addon's rmsNorm
        return x.mul(x.pow(2).mean(-1, keepdim=True).add(self.eps).rsqrt()) * self.weight

def rotary(x, cos, sin):  # rotate-half, as the addon's applyRotary
    half = x.size(-1) // 2
    x1, x2 = x.narrow(-1, 0, half), x.narrow(-1, half, x.size(-1) - half)
    return x.mul(cos).add(torch.cat([x2.neg(), x1], -1).mul(sin))

def attention(q, k, v):
    lq, lk = q.size(2), k.size(2)
    keep = torch.ones(lq, lk, dtype=torch.bool).tril(lk - lq)
    scores = torch.matmul(q, k.transpose(-2, -1)).mul(1.0 / math.sqrt(q.size(3)))
    scores = scores.masked_fill(keep.logical_not(), -math.inf)
    return torch.matmul(torch.softmax(scores, -1, dtype=torch.float).to(q.dtype), v)

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn_norm, self.mlp_norm = RMSNorm(D), RMSNorm(D)
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(D, D, bias=False) for _ in range(4))
        self.gate, self.up = nn.Linear(D, HIDDEN, bias=False), nn.Linear(D, HIDDEN, bias=False)
        self.down = nn.Linear(HIDDEN, D, bias=False)
    def forward(self, x, cos, sin):
        h = self.attn_norm(x)
        heads = lambda t: t.view(B, L, H, HD).transpose(1, 2)
        q, k, v = rotary(heads(self.wq(h)), cos, sin), rotary(heads(self.wk(h)), cos, sin), heads(self.wv(h))
        a = attention(q, k, v).transpose(1, 2).reshape(B, L, D)
        x2 = x + self.wo(a)
        m = self.mlp_norm(x2)
        return x2 + self.down(F.silu(self.gate(m)) * self.up(m))

torch.manual_seed(0)
block = Block()
opt = torch.optim.AdamW(block.parameters(), lr=1e-4, weight_decay=0.01)
x = torch.randn(B, L, D)
inv = torch.arange(0, HD, 2, dtype=torch.float32).div(HD).mul(math.log(10000)).neg().exp()
freqs = torch.arange(L, dtype=torch.float32).unsqueeze(1) * inv.unsqueeze(0)
emb = torch.cat([freqs, freqs], -1); cos, sin = emb.cos(), emb.sin()

def step():
    opt.zero_grad(set_to_none=True)  # the TS Module.zeroGrad also drops the gradients
    block(x, cos, sin).square().mean().backward()
    opt.step()

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 10
for _ in range(3): step()
ts = []
for _ in range(steps):
    t0 = time.perf_counter_ns(); step(); ts.append((time.perf_counter_ns() - t0) / 1e6)
print(json.dumps({"bench": "block", "case": "fwd+bwd+AdamW step", "side": "py", "value": statistics.median(ts), "unit": "ms", "allocator": "libtorch default"}), flush=True)
