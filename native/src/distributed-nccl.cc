// The NCCL process group (GPU collectives). Compiled only when find-libtorch.mjs found a CUDA
// libtorch and the CUDA runtime and NCCL headers (binding.gyp adds this file then); everything
// else about groups, work handles and waits lives in distributed.cc.
#define USE_C10D_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#include "distributed.h"

namespace tf {

c10::intrusive_ptr<ProcessGroupBase> MakeNcclGroup(const c10::intrusive_ptr<c10d::Store>& store, int rank, int worldSize, int64_t timeoutMs) {
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = std::chrono::milliseconds(timeoutMs);
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, worldSize, options);
}

}  // namespace tf
