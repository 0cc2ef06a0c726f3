// What distributed.cc shares with distributed-nccl.cc: the process-group base class both Gloo and
// NCCL groups derive from, and the NCCL factory (built only where CUDA and NCCL headers exist, so
// the heavy CUDA headers stay out of every other translation unit).
#pragma once
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/version.h>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif
#include <cstdint>

namespace tf {

// libtorch 2.x: ProcessGroupGloo/NCCL are c10d::Backend; 1.13: c10d::ProcessGroup.
#if TORCH_VERSION_MAJOR >= 2
using ProcessGroupBase = c10d::Backend;
#else
using ProcessGroupBase = c10d::ProcessGroup;
#endif

#ifdef TORCHFORGE_WITH_NCCL
c10::intrusive_ptr<ProcessGroupBase> MakeNcclGroup(const c10::intrusive_ptr<c10d::Store>& store, int rank, int worldSize, int64_t timeoutMs);
#else
inline const char* NcclUnavailableReason() {
#ifdef TORCHFORGE_WITH_CUDA
  return "backend \"nccl\" is not built into this addon: libtorch has CUDA, but nccl.h / cuda_runtime_api.h were not found at build time "
         "(pip install nvidia-nccl-cu13 nvidia-cuda-runtime, or set CUDA_HOME / NCCL_HOME, then rebuild); use backend: \"gloo\"";
#else
  return "backend \"nccl\" is not built into this addon: it was built without CUDA (the libtorch has none, its CUDA libraries did not "
         "resolve, or no NVIDIA driver was found at build time; TORCHFORGE_CUDA=1 forces linking it); use backend: \"gloo\", or rebuild "
         "against a CUDA libtorch (pip torch) on a GPU machine";
#endif
}
#endif

}  // namespace tf
