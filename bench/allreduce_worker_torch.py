# One rank of bench/allreduce-bandwidth.ts on PyTorch's own torch.distributed (Gloo), run with the
# Python whose torch is the libtorch our addon links (TORCH_PYTHON). Prints {side, bytes, ms} lines.
import json, os, time
import torch
import torch.distributed as dist

torch.set_num_threads(1)
dist.init_process_group("gloo")
sizes = [int(s) for s in os.environ.get("SIZES", "1048576,16777216,67108864").split(",")]
iters = int(os.environ.get("ITERS", "10"))
for nbytes in sizes:
    t = torch.ones(nbytes // 4)
    for _ in range(3):
        dist.all_reduce(t)
    times = []
    for _ in range(iters):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(t)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    if dist.get_rank() == 0:
        print(json.dumps({"side": "torch", "bytes": nbytes, "ms": times[len(times) // 2]}), flush=True)
dist.destroy_process_group()
