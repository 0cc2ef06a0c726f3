// What distributed.cc shares with distributed-nccl.cc and grad-reducer.cc: the process-group base
// class both Gloo and NCCL groups derive from, the id tables and the lookup of a group by the id
// JavaScript holds, and the NCCL factory (built only where CUDA and NCCL headers exist, so the
// heavy CUDA headers stay out of every other translation unit).
#pragma once
#include "common.h"

#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/version.h>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif
// The header only declares the Gloo group when this is set; libtorch (Debian and PyPI) is built with it.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace tf {

// libtorch 2.x: ProcessGroupGloo/NCCL are c10d::Backend; 1.13: c10d::ProcessGroup.
#if TORCH_VERSION_MAJOR >= 2
using ProcessGroupBase = c10d::Backend;
#else
using ProcessGroupBase = c10d::ProcessGroup;
#endif

// c10d::Work in libtorch 1.13 and 2.x alike (1.13 moved it out of ProcessGroup).
using WorkPtr = c10::intrusive_ptr<c10d::Work>;

// Objects crossing the boundary are small integer ids into per-kind tables: they are few and
// long-lived, so a table is simpler than tensor-style handles.
template <typename T>
class Table {
 public:
  int64_t Add(T value) {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t id = next_++;
    items_.emplace(id, std::move(value));
    return id;
  }
  T Get(int64_t id, const char* what) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = items_.find(id);
    if (it == items_.end()) throw ArgError(std::string(what) + " " + std::to_string(id) + " does not exist (destroyed or never created)");
    return it->second;
  }
  // Removes and returns the entry (empty T when absent), so the caller can tear it down outside the lock.
  T Take(int64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = items_.find(id);
    if (it == items_.end()) return T();
    T value = std::move(it->second);
    items_.erase(it);
    return value;
  }
  bool Remove(int64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.erase(id) > 0;
  }

 private:
  std::mutex mu_;
  int64_t next_ = 1;
  std::unordered_map<int64_t, T> items_;
};

// The Gloo or NCCL group with this id (ArgError when it was destroyed or never created).
c10::intrusive_ptr<ProcessGroupBase> GroupById(int64_t id);

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
