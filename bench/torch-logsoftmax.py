"""Python peer of bench/torch-logsoftmax.ts (libtorch's default CPU allocator).
   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch-logsoftmax.py"""
import json, time, statistics, warnings
warnings.filterwarnings("ignore")
import torch
torch.set_num_threads(2)
x = torch.randn(1024, 128000)
ts = []
for _ in range(6):
    t0 = time.perf_counter_ns(); y = torch.log_softmax(x, -1); del y; ts.append((time.perf_counter_ns() - t0) / 1e6)
print(json.dumps({"bench": "logsoftmax", "case": "logSoftmax (1024,128000) f32", "side": "py", "value": statistics.median(ts[1:]),
                  "unit": "ms", "allocator": "libtorch default", "firstMs": ts[0]}), flush=True)
