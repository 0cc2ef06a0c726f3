"""Golden Q8_0 / F16 / BF16 bytes from gguf-py (the quantiser llama.cpp's convert_hf_to_gguf.py uses)
for tests/torch/gguf-write.test.ts: blocks with rounding ties, a zero block, tiny and huge values.

Run: python3 scripts/golden/gguf-q8_0.py > tests/fixtures/gguf/quant-golden.json
"""
import json

import numpy as np
from gguf import GGMLQuantizationType, quants

rng = np.random.default_rng(7)
blocks = [
    rng.standard_normal(32),
    np.zeros(32),
    # amax 127 -> d = 1: x * id lands exactly on .5 ties, which roundf sends away from zero.
    np.array([127.0, -0.5, 0.5, 1.5, -1.5, 2.5, -2.5, 3.5] + [0.25 * i for i in range(24)]),
    rng.standard_normal(32) * 1e-6,
    rng.standard_normal(32) * 3e4,
]
values = np.concatenate(blocks).astype(np.float32).reshape(5, 32)
out = {"values": [float(v) for v in values.reshape(-1)]}
for name, t in [("Q8_0", GGMLQuantizationType.Q8_0), ("F16", GGMLQuantizationType.F16), ("BF16", GGMLQuantizationType.BF16)]:
    out[name] = quants.quantize(values, t).tobytes().hex()
print(json.dumps(out))
