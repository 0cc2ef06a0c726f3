// What distributed.cc shares with grad-reducer.cc: the id tables and the lookup of a Gloo group
// by the id JavaScript holds.
#pragma once
#include "common.h"

// The header only declares the Gloo group when this is set; libtorch (Debian and PyPI) is built with it.
#define USE_C10D_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <mutex>
#include <unordered_map>

namespace tf {

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

// The Gloo group with this id (ArgError when it was destroyed or never created).
c10::intrusive_ptr<c10d::ProcessGroupGloo> GroupById(int64_t id);

}  // namespace tf
