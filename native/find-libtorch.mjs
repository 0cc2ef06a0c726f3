// Locates libtorch for node-gyp. Order: $LIBTORCH, a Python `torch` installation (its bundled
// include/ and lib/), then the system (Debian/Ubuntu libtorch-dev).
// Usage: node find-libtorch.mjs include|libdir|abi|describe
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

function fromRoot(root, source) {
  const include = [join(root, "include"), join(root, "include/torch/csrc/api/include")];
  const libdir = join(root, "lib");
  if (!existsSync(join(include[0], "ATen/ATen.h"))) return null;
  if (!existsSync(join(libdir, "libtorch_cpu.so"))) return null;
  return { source, include, libdir, abi: null };
}

function detect() {
  if (process.env.LIBTORCH) {
    const found = fromRoot(process.env.LIBTORCH, "LIBTORCH");
    if (!found) throw new Error(`LIBTORCH=${process.env.LIBTORCH} has no include/ATen/ATen.h and lib/libtorch_cpu.so`);
    return found;
  }
  for (const py of [process.env.PYTHON ?? "python3"]) {
    try {
      const out = execFileSync(py, ["-c",
        "import os, torch; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))"],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split("\n");
      const found = fromRoot(out[0], `python torch (${out[0]})`);
      if (found) return { ...found, abi: out[1] };
    } catch { /* no usable Python torch */ }
  }
  const sys = { source: "system", include: ["/usr/include", "/usr/include/torch/csrc/api/include"], libdir: "", abi: null };
  const multiarch = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"];
  sys.libdir = multiarch.find((d) => existsSync(join(d, "libtorch_cpu.so"))) ?? "";
  if (!sys.libdir || !existsSync("/usr/include/ATen/ATen.h")) {
    throw new Error("libtorch not found: set LIBTORCH to an unpacked libtorch, install PyTorch for python3, or `apt-get install libtorch-dev`");
  }
  return sys;
}

const lt = detect();
const what = process.argv[2];
if (what === "include") console.log(lt.include.join(" "));
else if (what === "libdir") console.log(lt.libdir);
else if (what === "abi") console.log(lt.abi ?? "1");
else if (what === "cuda") console.log(existsSync(join(lt.libdir, "libtorch_cuda.so")) ? "1" : "0");
else console.log(JSON.stringify(lt));
