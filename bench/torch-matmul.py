"""Python peer of bench/torch-matmul.ts (same shapes, dtypes and timing).
   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch-matmul.py"""
import json, time, statistics, warnings
warnings.filterwarnings("ignore")
import torch
torch.set_num_threads(2)

def time_ms(fn, iters, warmup=2, warmup_ms=400):
    # Same warm-up rule as bench/torch-common.ts timeMs.
    w0, i = time.perf_counter(), 0
    while i < warmup or (time.perf_counter() - w0) * 1e3 < warmup_ms:
        fn(); i += 1
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter_ns(); fn(); ts.append((time.perf_counter_ns() - t0) / 1e6)
    return statistics.median(ts)

cases = [("1024^2", (1024, 1024), (1024, 1024), 2 * 1024**3, 20),
         ("2048^2", (2048, 2048), (2048, 2048), 2 * 2048**3, 6),
         ("bmm(32,256,256)", (32, 256, 256), (32, 256, 256), 32 * 2 * 256**3, 20)]
for dt, name in ((torch.float32, "float32"), (torch.bfloat16, "bfloat16")):
    for cname, sa, sb, flops, iters in cases:
        a, b = torch.randn(sa).to(dt), torch.randn(sb).to(dt)
        ms = time_ms(lambda: torch.matmul(a, b), 4 if dt == torch.bfloat16 and cname == "2048^2" else iters)
        print(json.dumps({"bench": "matmul", "case": f"{name} {cname}", "side": "py", "value": flops / (ms / 1e3) / 1e9, "unit": "GFLOP/s"}), flush=True)
