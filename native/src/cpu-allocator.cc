// A caching CPU allocator registered with libtorch.
//
// Why: on this class of machine the first touch of fresh memory costs ~7 µs per 4 KiB page, and
// glibc returns large blocks to the OS on free (mmap/munmap), so every big temporary in a train
// step pays page faults again. Keeping freed blocks in size-classed free lists and handing them
// back reuses already-faulted pages; blocks of 2 MiB and more are 2 MiB aligned and advised as
// transparent huge pages, which cuts the remaining first-touch cost ~10x.
//
// Small blocks (< 128 KiB) take a separate path: per-thread free lists by size class, no lock
// and no lookup. The deleter of each class is its own function, so freeing needs no header or
// map to know the size. (glibc's posix_memalign + free cost ~100 ns of a ~900 ns small op.)
#include "common.h"
#include <array>
#include <utility>
#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>
#include <sys/mman.h>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace tf {
namespace {

constexpr size_t kSmall = 128 * 1024;       // below this glibc's heap already reuses memory
constexpr size_t kHuge = 2 * 1024 * 1024;   // THP size on x86-64
constexpr size_t kAlign = 64;

// Rounds up to one of four classes per power of two (≤ 25% waste).
size_t SizeClass(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  size_t q = p >> 3;  // p/8 steps between p/2 and p: 5/8, 6/8, 7/8, 8/8
  for (size_t c = (p >> 1) + q; c < p; c += q)
    if (c >= n) return (c + kAlign - 1) / kAlign * kAlign;
  return p;
}

// Small size classes: 64-byte steps to 1 KiB, then four per power of two to 128 KiB.
constexpr size_t kSmallClasses = 16 + 4 * 7;
constexpr size_t SmallClassBytes(size_t c) {
  return c < 16 ? (c + 1) * 64 : (size_t(1024) << ((c - 16) / 4)) / 4 * (4 + (c - 16) % 4 + 1);
}
size_t SmallClassOf(size_t n) {
  if (n <= 1024) return (n + 63) / 64 - 1;
  size_t c = 16;
  while (SmallClassBytes(c) < n) c++;
  return c;
}
// Per thread and class, at most this many blocks (and kSmallCacheBytes) wait for reuse; the rest go back
// to glibc. Plain arrays, no destructor: tensors freed during process exit, after thread-local
// destructors ran, must still find a valid cache. Blocks cached by a thread that exits leak;
// the threads that free tensors (main, OpenMP, libuv pools) live as long as the process.
constexpr size_t kSmallCacheSlots = 256;
constexpr size_t kSmallCacheBytes = 1024 * 1024;
constexpr size_t SmallCacheCap(size_t c) {
  return SmallClassBytes(c) * kSmallCacheSlots <= kSmallCacheBytes ? kSmallCacheSlots : kSmallCacheBytes / SmallClassBytes(c);
}

struct SmallCache {
  void* blocks[kSmallClasses][kSmallCacheSlots];
  uint32_t count[kSmallClasses];
};
thread_local SmallCache t_small;  // zero-initialised, trivially destructible

void* SmallAllocate(size_t c) {
  SmallCache& cache = t_small;
  if (cache.count[c] > 0) return cache.blocks[c][--cache.count[c]];
  void* p = nullptr;
  if (posix_memalign(&p, kAlign, SmallClassBytes(c)) != 0 || !p)
    throw std::runtime_error("CPU out of memory: failed to allocate " + std::to_string(SmallClassBytes(c)) + " bytes");
  return p;
}

template <size_t C>
void SmallFree(void* p) {
  SmallCache& cache = t_small;
  if (cache.count[C] < SmallCacheCap(C)) cache.blocks[C][cache.count[C]++] = p;
  else std::free(p);
}

template <size_t... C>
constexpr std::array<c10::DeleterFnPtr, sizeof...(C)> SmallDeleters(std::index_sequence<C...>) {
  return {&SmallFree<C>...};
}
constexpr auto kSmallDeleters = SmallDeleters(std::make_index_sequence<kSmallClasses>());
static_assert(SmallClassBytes(kSmallClasses - 1) == 128 * 1024, "small classes end at kSmall");

struct Stats {
  std::atomic<int64_t> allocated{0}, cached{0}, peak{0}, hits{0}, misses{0};
};

class CachingCpuAllocator final : public c10::Allocator {
 public:
  bool hugepages = true;
  size_t cacheLimit = size_t(2) << 30;
  Stats stats;

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  c10::DataPtr allocate(size_t n) override { return Allocate(n); }
#else
  c10::DataPtr allocate(size_t n) const override { return const_cast<CachingCpuAllocator*>(this)->Allocate(n); }
#endif
  c10::DeleterFnPtr raw_deleter() const override { return &Deleter; }
  // Pure virtual in newer libtorch; harmless extra method in older ones.
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }

  c10::DataPtr Allocate(size_t n) {
    c10::Device cpu(c10::DeviceType::CPU);
    if (n == 0) return c10::DataPtr(nullptr, nullptr, &Deleter, cpu);
    if (n < kSmall) {
      size_t c = SmallClassOf(n);
      void* small = SmallAllocate(c);
      return c10::DataPtr(small, small, kSmallDeleters[c], cpu);
    }
    size_t size = SizeClass(n);
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        stats.cached -= size;
        stats.hits++;
      }
      if (p) live_[p] = size;
    }
    if (!p) {
      stats.misses++;
      size_t align = (hugepages && size >= kHuge) ? kHuge : kAlign;
      if (posix_memalign(&p, align, size) != 0 || !p) {
        EmptyCache();
        if (posix_memalign(&p, align, size) != 0 || !p)
          throw std::runtime_error("CPU out of memory: failed to allocate " + std::to_string(size) + " bytes");
      }
      if (hugepages && size >= kHuge) madvise(p, size, MADV_HUGEPAGE);
      std::lock_guard<std::mutex> lock(mu_);
      live_[p] = size;
    }
    int64_t now = stats.allocated += static_cast<int64_t>(size);
    int64_t peak = stats.peak.load();
    while (now > peak && !stats.peak.compare_exchange_weak(peak, now)) {}
    return c10::DataPtr(p, p, &Deleter, cpu);
  }

  void Free(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) { std::free(p); return; }
    size_t size = it->second;
    live_.erase(it);
    stats.allocated -= static_cast<int64_t>(size);
    if (static_cast<size_t>(stats.cached.load()) + size > cacheLimit) {
      std::free(p);
      return;
    }
    free_[size].push_back(p);
    stats.cached += size;
  }

  void EmptyCache() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& kv : free_) {
      for (void* p : kv.second) std::free(p);
      stats.cached -= static_cast<int64_t>(kv.first * kv.second.size());
      kv.second.clear();
    }
  }

  static void Deleter(void* p);

 private:
  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  std::unordered_map<void*, size_t> live_;
};

// Never destroyed: tensors freed during process exit still find it.
CachingCpuAllocator* g_alloc = new CachingCpuAllocator();
bool g_installed = false;

void CachingCpuAllocator::Deleter(void* p) { g_alloc->Free(p); }

// configureAllocator(mode: 'caching'|'default', hugepages: boolean, cacheLimitBytes: number)
TF_FN(ConfigureAllocator, {
  std::string mode = info[0].As<Napi::String>().Utf8Value();
  g_alloc->hugepages = Bool(info[1], "hugepages");
  g_alloc->cacheLimit = static_cast<size_t>(Num(info[2], "cacheLimitBytes"));
  if (mode == "caching") {
    if (!g_installed) c10::SetAllocator(c10::DeviceType::CPU, g_alloc, /*priority=*/10);
    g_installed = true;
  } else if (mode != "default") {
    throw ArgError("allocator mode must be 'caching' or 'default', got '" + mode + "'");
  } else if (g_installed) {
    throw std::runtime_error("the caching allocator is already installed for this process");
  }
  return env.Undefined();
})

TF_FN(AllocatorStats, {
  Napi::Object o = Napi::Object::New(env);
  o.Set("installed", Napi::Boolean::New(env, g_installed));
  o.Set("allocatedBytes", Napi::Number::New(env, static_cast<double>(g_alloc->stats.allocated.load())));
  o.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(g_alloc->stats.cached.load())));
  o.Set("peakBytes", Napi::Number::New(env, static_cast<double>(g_alloc->stats.peak.load())));
  o.Set("cacheHits", Napi::Number::New(env, static_cast<double>(g_alloc->stats.hits.load())));
  o.Set("cacheMisses", Napi::Number::New(env, static_cast<double>(g_alloc->stats.misses.load())));
  return o;
})

TF_FN(EmptyCache, {
  g_alloc->EmptyCache();
  return env.Undefined();
})

}  // namespace

void RegisterAllocator(Napi::Env env, Exports exports) {
  TF_EXPORT("configureAllocator", ConfigureAllocator);
  TF_EXPORT("allocatorStats", AllocatorStats);
  TF_EXPORT("emptyCache", EmptyCache);
}

}  // namespace tf
