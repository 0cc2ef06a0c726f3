"""Python peer of bench/torch-rss.ts (same MLP, batch, loss, optimizer, steps).
   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch-rss.py [steps]"""
import json, re, sys, time, warnings
warnings.filterwarnings("ignore")
import torch
from torch import nn
import torch.nn.functional as F
torch.set_num_threads(2)

def rss():
    return int(re.search(r"VmRSS:\s+(\d+) kB", open("/proc/self/status").read()).group(1)) * 1024

STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
WARMUP = 500
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
samples, warm = [], 0
t0 = time.perf_counter()
for step in range(1, STEPS + 1):
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(torch.randn(32, 64)), torch.randint(0, 10, (32,))).backward()
    opt.step()
    if step == WARMUP: warm = rss()
    if step % 2000 == 0: samples.append(round(rss() / 2**20, 1))
ms = (time.perf_counter() - t0) * 1e3 / STEPS
end = rss()
print(json.dumps({"bench": "rss", "case": "RSS growth, step 500 → 10,000", "side": "py", "value": (end / warm - 1) * 100, "unit": "%",
                  "rssWarmMiB": warm / 2**20, "rssEndMiB": end / 2**20, "samplesMiB": samples, "msPerStep": ms}), flush=True)
