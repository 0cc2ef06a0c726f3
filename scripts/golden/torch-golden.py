#!/usr/bin/env python3
"""Golden values for tests/torch from PyTorch's Python API.

Run with Debian's PyTorch (same libtorch as the addon):
    /usr/bin/python3 scripts/golden/torch-golden.py > tests/torch/fixtures/golden.json
Inputs are written out explicitly (not seeded) so the TypeScript side feeds identical values.
"""
import json
import math

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
out = {}


def arr(t):
    return t.detach().tolist()


def lin(n, scale=1.0, shift=0.0):
    """Deterministic, irregular values: scale * sin(1.7 i + shift)."""
    return [scale * math.sin(1.7 * i + shift) for i in range(n)]


# ---- AdamW / SGD trajectories on a fixed quadratic-ish loss ------------------------------------
def trajectory(make_opt, steps=5):
    w = torch.tensor(lin(6, 0.5), requires_grad=True).reshape(2, 3).detach().requires_grad_()
    b = torch.tensor(lin(3, 0.3, 1.0), requires_grad=True)
    x = torch.tensor(lin(12, 1.0, 2.0)).reshape(4, 3)
    opt = make_opt([w, b])
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        y = (x @ w.T).tanh().sum() + (b * b).sum() + (w.pow(3)).sum()
        y.backward()
        opt.step()
        losses.append(y.item())
    return {"w": arr(w), "b": arr(b), "losses": losses}


out["adamw"] = trajectory(lambda p: torch.optim.AdamW(p, lr=0.05, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1))
out["adam"] = trajectory(lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1))
out["sgd_momentum"] = trajectory(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01))
out["sgd_nesterov"] = trajectory(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True))
out["sgd_plain"] = trajectory(lambda p: torch.optim.SGD(p, lr=0.05))

# ---- clip_grad_norm_ -----------------------------------------------------------------------------
a = torch.tensor(lin(4, 2.0), requires_grad=True)
b = torch.tensor(lin(3, 3.0, 0.5), requires_grad=True)
((a * a).sum() + (b * b * b).sum()).backward()
total = torch.nn.utils.clip_grad_norm_([a, b], 1.0)
out["clip"] = {"total": total.item(), "ga": arr(a.grad), "gb": arr(b.grad)}

# ---- fused nn ops --------------------------------------------------------------------------------
x = torch.tensor(lin(2 * 3 * 8, 1.5)).reshape(2, 3, 8)
w = torch.tensor(lin(8, 0.5, 0.3)) + 1.0
var = x.pow(2).mean(-1, keepdim=True)
out["rms_norm"] = {"x": arr(x), "w": arr(w), "eps": 1e-6, "y": arr(x * torch.rsqrt(var + 1e-6) * w)}

q = torch.tensor(lin(1 * 4 * 5 * 6, 1.0)).reshape(1, 4, 5, 6)
k = torch.tensor(lin(1 * 2 * 5 * 6, 1.0, 0.7)).reshape(1, 2, 5, 6)
v = torch.tensor(lin(1 * 2 * 5 * 6, 1.0, 1.3)).reshape(1, 2, 5, 6)
kr = k.repeat_interleave(2, dim=1)
vr = v.repeat_interleave(2, dim=1)
scores = q @ kr.transpose(-1, -2) / math.sqrt(6)
causal = torch.ones(5, 5, dtype=torch.bool).tril()
att = scores.masked_fill(~causal, float("-inf")).softmax(-1) @ vr
# decode: the last 2 queries against all 5 keys, causal aligned to the end
att_tail = (scores[:, :, 3:, :].masked_fill(~causal[3:, :], float("-inf")).softmax(-1)) @ vr
out["sdpa"] = {"q": arr(q), "k": arr(k), "v": arr(v), "causal": arr(att), "causal_tail": arr(att_tail),
               "full": arr(scores.softmax(-1) @ vr)}

pos = torch.arange(5.0)
inv = 1.0 / (10000 ** (torch.arange(0, 6, 2).double() / 6))
freqs = torch.outer(pos, inv)
emb = torch.cat([freqs, freqs], -1)
cos, sin = emb.cos(), emb.sin()
x1, x2 = q[..., :3], q[..., 3:]
rot = q * cos + torch.cat([-x2, x1], -1) * sin
out["rotary"] = {"cos": arr(cos), "sin": arr(sin), "y": arr(rot)}

logits = torch.tensor(lin(4 * 5, 2.0)).reshape(4, 5)
target = torch.tensor([1, -100, 4, 0])
out["cross_entropy"] = {
    "logits": arr(logits), "target": arr(target),
    "mean": F.cross_entropy(logits, target, ignore_index=-100).item(),
    "sum": F.cross_entropy(logits, target, ignore_index=-100, reduction="sum").item(),
    "none": arr(F.cross_entropy(logits, target, ignore_index=-100, reduction="none")),
    "smooth": F.cross_entropy(logits, target, ignore_index=-100, label_smoothing=0.1).item(),
}
tl = torch.tensor([[1, 2, 3, 4], [0, 0, 1, 2]])
lg = torch.tensor(lin(2 * 4 * 5, 3.0)).reshape(2, 4, 5)
out["token_logprobs"] = {"logits": arr(lg), "targets": arr(tl),
                         "t1": arr((lg).log_softmax(-1).gather(-1, tl.unsqueeze(-1)).squeeze(-1)),
                         "t07": arr((lg / 0.7).log_softmax(-1).gather(-1, tl.unsqueeze(-1)).squeeze(-1))}

print(json.dumps(out))
