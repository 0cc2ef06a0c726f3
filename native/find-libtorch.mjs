// Locates libtorch for node-gyp. Order: $LIBTORCH, a Python `torch` installation (its bundled
// include/ and lib/), then the system (Debian/Ubuntu libtorch-dev).
// TORCHFORGE_LIBTORCH=python|system picks one source (used by scripts/test-libtorch-matrix.sh).
// Usage: node find-libtorch.mjs include|libdir|abi|std|cuda|nccl|nccl-include|describe
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

function fromRoot(root, source) {
  const include = [join(root, "include"), join(root, "include/torch/csrc/api/include")];
  const libdir = join(root, "lib");
  if (!existsSync(join(include[0], "ATen/ATen.h"))) return null;
  if (!existsSync(join(libdir, "libtorch_cpu.so"))) return null;
  return { source, include, libdir, abi: null };
}

function detect() {
  const only = process.env.TORCHFORGE_LIBTORCH; // "python" or "system" skips the other sources
  if (only && only !== "python" && only !== "system") throw new Error(`TORCHFORGE_LIBTORCH must be python or system; got ${only}`);
  if (process.env.LIBTORCH && !only) {
    const found = fromRoot(process.env.LIBTORCH, "LIBTORCH");
    if (!found) throw new Error(`LIBTORCH=${process.env.LIBTORCH} has no include/ATen/ATen.h and lib/libtorch_cpu.so`);
    return found;
  }
  for (const py of only === "system" ? [] : [process.env.PYTHON ?? "python3"]) {
    try {
      const out = execFileSync(py, ["-c",
        "import os, torch; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))"],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split("\n");
      const found = fromRoot(out[0], `python torch (${out[0]})`);
      if (found) return { ...found, abi: out[1] };
    } catch { /* no usable Python torch */ }
  }
  if (only === "python") throw new Error("TORCHFORGE_LIBTORCH=python but python3 has no usable torch");
  const sys = { source: "system", include: ["/usr/include", "/usr/include/torch/csrc/api/include"], libdir: "", abi: null };
  const multiarch = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"];
  sys.libdir = multiarch.find((d) => existsSync(join(d, "libtorch_cpu.so"))) ?? "";
  if (!sys.libdir || !existsSync("/usr/include/ATen/ATen.h")) {
    throw new Error("libtorch not found: set LIBTORCH to an unpacked libtorch, install PyTorch for python3, or `apt-get install libtorch-dev`");
  }
  return sys;
}

// The C++ ABI libtorch was built with: std::string symbols are __cxx11-tagged under the new ABI.
function detectAbi(libdir) {
  try {
    const syms = execFileSync("nm", ["-D", "--defined-only", join(libdir, "libc10.so")], { encoding: "utf8", maxBuffer: 1 << 28 });
    return syms.includes("__cxx11") ? "1" : "0";
  } catch {
    return "1";
  }
}

// Whether this machine has an NVIDIA driver (a GPU container has the device nodes and /proc entry).
function hasNvidiaDriver() {
  return existsSync("/proc/driver/nvidia/version") || existsSync("/dev/nvidiactl");
}

// Link CUDA libtorch when it has one, its runtime libraries resolve here and an NVIDIA driver is
// present; a pip CUDA build then works on a CPU-only machine through libtorch_cpu alone, without
// loading libtorch_cuda's ~1 GB of libraries into every process. TORCHFORGE_CUDA=0|1 forces the
// choice (1: link it anyway, e.g. to compile-check the CUDA and NCCL code on a CPU machine).
function detectCuda(libdir) {
  if (process.env.TORCHFORGE_CUDA === "0") return "0";
  const lib = join(libdir, "libtorch_cuda.so");
  if (!existsSync(lib)) return "0";
  if (process.env.TORCHFORGE_CUDA === "1") return "1";
  if (!hasNvidiaDriver()) return "0";
  try {
    const out = execFileSync("ldd", [lib], { encoding: "utf8" });
    return /not found/.test(out) ? "0" : "1";
  } catch {
    return "0";
  }
}

// The include dirs an NCCL process group needs beyond libtorch's own: nccl.h, cuda_runtime_api.h
// and crt/host_config.h (which cuda_runtime.h includes). Searched in $NCCL_HOME, $CUDA_HOME,
// /usr/local/cuda and the pip packages beside a Python torch (nvidia-nccl-cu*, nvidia-cuda-runtime;
// the runtime wheel lacks crt/, which nvcc's wheel or Triton's bundled CUDA headers provide).
// Empty when any is missing or libtorch is not linked with CUDA (TORCHFORGE_NCCL=0 forces that).
function ncclIncludes(lt) {
  if (process.env.TORCHFORGE_NCCL === "0" || detectCuda(lt.libdir) !== "1") return [];
  const roots = [process.env.NCCL_HOME, process.env.CUDA_HOME, "/usr/local/cuda"].filter(Boolean).map((r) => join(r, "include"));
  roots.push("/usr/include");
  const site = join(lt.libdir, "..", "..");
  if (existsSync(join(site, "nvidia"))) {
    for (const d of readdirSync(join(site, "nvidia")).sort()) roots.push(join(site, "nvidia", d, "include"));
    roots.push(join(site, "triton", "backends", "nvidia", "include"));
  }
  const dirs = [];
  for (const file of ["nccl.h", "cuda_runtime_api.h", "crt/host_config.h"]) {
    const dir = roots.find((r) => existsSync(join(r, file)));
    if (!dir) return [];
    if (!dirs.includes(dir)) dirs.push(dir);
  }
  return dirs;
}

// libtorch 2.x headers need C++20 (recent releases use concepts and <bit>); 1.13 builds as C++17.
function cxxStandard(include) {
  // Newer releases define the version in torch/headeronly/version.h.
  for (const file of [join(include[1], "torch/version.h"), join(include[0], "torch/headeronly/version.h")]) {
    if (!existsSync(file)) continue;
    const major = /TORCH_VERSION_MAJOR (\d+)/.exec(readFileSync(file, "utf8"))?.[1];
    if (major) return Number(major) >= 2 ? "c++20" : "c++17";
  }
  return "c++17";
}

const lt = detect();
const what = process.argv[2];
if (what === "include") console.log(lt.include.join(" "));
else if (what === "libdir") console.log(lt.libdir);
else if (what === "abi") console.log(lt.abi ?? detectAbi(lt.libdir));
else if (what === "std") console.log(cxxStandard(lt.include));
else if (what === "cuda") console.log(detectCuda(lt.libdir));
else if (what === "nccl") console.log(ncclIncludes(lt).length ? "1" : "0");
else if (what === "nccl-include") console.log(ncclIncludes(lt).join(" "));
else console.log(JSON.stringify(lt));
