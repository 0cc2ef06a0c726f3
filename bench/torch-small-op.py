"""Python peer of bench/torch-small-op.ts: `a + b` on 4-element float32 tensors; the result is
freed by refcounting when the name is rebound (the Python equivalent of dispose()).
   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch-small-op.py"""
import json, time, statistics, warnings
warnings.filterwarnings("ignore")
import torch
torch.set_num_threads(2)

N = 100_000
a = torch.tensor([1.0, 2.0, 3.0, 4.0]); b = torch.tensor([5.0, 6.0, 7.0, 8.0])

def ns_per_op(body, ops):
    for _ in range(3): body()
    runs = []
    for _ in range(5):
        t0 = time.perf_counter_ns(); body(); runs.append((time.perf_counter_ns() - t0) / ops)
    return statistics.median(runs)

def plus():
    for _ in range(N): c = a + b

def add():
    for _ in range(N): c = torch.add(a, b)

for name, fn in (("add 4-elem, a + b", plus), ("add 4-elem, torch.add", add)):
    print(json.dumps({"bench": "small-op", "case": name, "side": "py", "value": ns_per_op(fn, N), "unit": "ns/op"}), flush=True)
