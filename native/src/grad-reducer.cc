// PyTorch DDP's Reducer, in small: gradients are summed across a Gloo group in buckets WHILE
// backward runs. Parameters go into buckets of ~25 MiB in reverse registration order (backward
// produces the last layers' gradients first); a post hook on each parameter's gradient
// accumulator copies its finished gradient into the bucket, and the bucket whose parameters are
// all ready starts its asynchronous all-reduce. `finish` (after backward) fills in what never
// came, waits, and hands the sums back as the gradients.
//
// Rules that keep every rank's collectives in the same order (Gloo matches them by sequence):
// buckets start strictly in index order, a bucket ready early waits for the ones before it; and
// `finish` always runs the same trailing collectives on every rank.
//
// Hooks run on the autograd thread inside backward: they touch only this file's C++ state (no
// JavaScript). Everything here is guarded by the reducer's mutex.
//
// Cases DDP also meets, handled here:
// - a parameter without a gradient in this pass (unused by this rank's micro-batch): `finish`
//   contributes its accumulated gradient (earlier micro-batches) or zeros, so nothing hangs; a
//   parameter no rank gave a gradient keeps none (like a single process, whose optimizer skips it);
// - a gradient accumulated again after its bucket started (a parameter used in two backward calls,
//   e.g. tied embeddings under activation checkpointing): the bucket is flagged, all ranks learn
//   of the flags in `finish`'s one small all-reduce and redo those buckets; each parameter's count
//   of accumulations per pass is learned, so the next pass waits for all of them;
// - micro-batches without sync (`requireSync` false): hooks do nothing, gradients accumulate locally.
#include "distributed.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <ATen/ATen.h>

#include <chrono>
#include <map>
#include <memory>
#include <unordered_set>

namespace tf {
namespace {

namespace ag = torch::autograd;
using Ms = std::chrono::milliseconds;
// libtorch 1.13 hands out std::shared_ptr<Node>, 2.x c10::intrusive_ptr<Node>.
using AccumulatorPtr = decltype(ag::impl::grad_accumulator(std::declval<const at::Tensor&>()));

struct Bucket {
  at::ScalarType dtype;
  at::TensorOptions options;
  std::vector<size_t> params;    // indices into Reducer::params_, in their order inside `flat`
  std::vector<int64_t> offsets;  // element offset of each of them
  int64_t numel = 0;
  // State of the current pass:
  at::Tensor flat;
  size_t pending = 0;  // parameters not yet ready
  WorkPtr work;
  bool launched = false;
  bool late = false;  // a gradient was accumulated after the all-reduce started
};

struct PassStats {
  int64_t launchedInBackward = 0;
  std::vector<int64_t> lateBuckets;
  std::vector<int64_t> locallyUnused;
  std::vector<int64_t> globallyUnused;
};

// A failed collective: the TypeScript side turns it into a DistributedError naming the rank.
struct CollectiveError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Reducer {
 public:
  Reducer(c10::intrusive_ptr<ProcessGroupBase> group, std::vector<at::Tensor> params, std::vector<at::Tensor> targets, int64_t bucketBytes)
      : group_(std::move(group)), params_(std::move(params)), targets_(std::move(targets)) {
    size_t n = params_.size();
    bucketOf_.resize(n);
    slotOf_.resize(n);
    fired_.assign(n, 0);
    expected_.assign(n, 1);
    counted_.assign(n, false);
    // Reverse registration order, one run of buckets per dtype; a bucket closes before it would
    // pass `bucketBytes` (a larger tensor gets a bucket of its own).
    std::map<at::ScalarType, size_t> open;
    for (size_t k = n; k-- > 0;) {
      const at::Tensor& t = targets_[k];
      auto dtype = t.scalar_type();
      int64_t bytes = t.numel() * static_cast<int64_t>(t.element_size());
      auto it = open.find(dtype);
      if (it != open.end()) {
        const Bucket& b = buckets_[it->second];
        if (!b.params.empty() && b.numel * static_cast<int64_t>(t.element_size()) + bytes > bucketBytes) {
          open.erase(it);
          it = open.end();
        }
      }
      if (it == open.end()) {
        Bucket b;
        b.dtype = dtype;
        b.options = t.options().requires_grad(false);
        buckets_.push_back(std::move(b));
        it = open.emplace(dtype, buckets_.size() - 1).first;
      }
      Bucket& b = buckets_[it->second];
      bucketOf_[k] = it->second;
      slotOf_[k] = b.params.size();
      b.params.push_back(k);
      b.offsets.push_back(b.numel);
      b.numel += t.numel();
    }
  }

  ~Reducer() { Uninstall(); }

  // Registers one post hook per gradient accumulator. The reducer keeps the accumulators alive:
  // a parameter whose accumulator were dropped would get a fresh one, without the hook.
  void Install(const std::shared_ptr<Reducer>& self) {
    std::weak_ptr<Reducer> weak = self;
    for (size_t i = 0; i < params_.size(); i++) {
      AccumulatorPtr acc = ag::impl::grad_accumulator(params_[i]);
      if (!acc) throw ArgError("params[" + std::to_string(i) + "]: has no gradient accumulator (expected a leaf that requires grad)");
      auto key = acc->add_post_hook(std::make_unique<ReadyHook>(weak, i));
      hooks_.emplace_back(acc, key);
    }
  }

  void Uninstall() {
    for (auto& [acc, key] : hooks_) acc->del_post_hook(key);
    hooks_.clear();
  }

  void SetRequireSync(bool on) {
    std::lock_guard<std::mutex> lock(mu_);
    requireSync_ = on;
  }

  // The hook's body: parameter i's gradient was just accumulated.
  void OnGradReady(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!requireSync_) return;
    try {
      if (!passActive_) BeginPass();
      fired_[i] += 1;
      Bucket& b = buckets_[bucketOf_[i]];
      if (b.launched) {
        b.late = true;
        return;
      }
      // Wait for the accumulations this parameter had in the last pass (1 unless learned otherwise).
      if (fired_[i] < expected_[i]) return;
      CopyIn(i);
      if (!counted_[i]) {
        counted_[i] = true;
        if (--b.pending == 0) LaunchReady(true);
      }
    } catch (const std::exception& e) {
      // Never throw into the autograd engine: `finish` reports it.
      if (error_.empty()) error_ = e.what();
    }
  }

  PassStats Finish(double factor, Ms timeout) {
    std::lock_guard<std::mutex> lock(mu_);
    PassStats stats;
    try {
      if (!passActive_) BeginPass();
      if (!error_.empty()) throw std::runtime_error("a gradient hook failed: " + error_);
      stats.launchedInBackward = launchedInBackward_;
      // What never became ready goes in as it is now: earlier micro-batches' sum, or zeros.
      for (size_t i = 0; i < params_.size(); i++) {
        if (fired_[i] == 0) stats.locallyUnused.push_back(static_cast<int64_t>(i));
        if (counted_[i]) continue;
        Bucket& b = buckets_[bucketOf_[i]];
        if (b.launched) continue;  // (cannot happen: a bucket starts only when all its parameters counted)
        CopyIn(i);
        counted_[i] = true;
        b.pending -= 1;
      }
      LaunchReady(false);
      if (!error_.empty()) throw CollectiveError(error_);
      for (size_t k = 0; k < buckets_.size(); k++) Wait(buckets_[k], k, timeout);
      // One small all-reduce: late buckets anywhere, and parameters with a gradient on some rank.
      size_t nb = buckets_.size();
      size_t np = params_.size();
      at::Tensor flags = at::zeros({static_cast<int64_t>(nb + np)}, at::kInt);
      auto* f = flags.data_ptr<int32_t>();
      for (size_t k = 0; k < nb; k++) f[k] = buckets_[k].late ? 1 : 0;
      for (size_t i = 0; i < np; i++) f[nb + i] = params_[i].grad().defined() ? 1 : 0;
      RunCollective(flags, "the bucket/usage flags", timeout);
      // Redo the flagged buckets with the gradients as they are now (complete).
      for (size_t k = 0; k < nb; k++) {
        if (f[k] == 0) continue;
        stats.lateBuckets.push_back(static_cast<int64_t>(k));
        for (size_t i : buckets_[k].params) CopyIn(i);
        RunCollective(buckets_[k].flat, "bucket " + std::to_string(k) + " (again, after a late gradient)", timeout);
      }
      // Next pass waits for as many accumulations as this one saw.
      for (size_t i = 0; i < np; i++) {
        if (fired_[i] > 0) expected_[i] = fired_[i];
      }
      at::NoGradGuard noGrad;
      for (auto& b : buckets_) {
        if (factor != 1.0) b.flat.mul_(factor);
      }
      for (size_t i = 0; i < np; i++) {
        bool anywhere = f[nb + i] != 0;
        if (!anywhere) stats.globallyUnused.push_back(static_cast<int64_t>(i));
        const Bucket& b = buckets_[bucketOf_[i]];
        // A view into the bucket: the bucket's storage lives on through the gradients.
        at::Tensor reduced = b.flat.narrow(0, b.offsets[slotOf_[i]], params_[i].numel()).view(params_[i].sizes());
        if (!targets_[i].is_same(params_[i])) params_[i].mutable_grad().reset();
        if (anywhere) targets_[i].mutable_grad() = reduced;
        else targets_[i].mutable_grad().reset();
      }
    } catch (...) {
      EndPass();
      throw;
    }
    EndPass();
    return stats;
  }

  // Abandons the current pass (after an exception between backward and finish).
  void Reset() {
    std::lock_guard<std::mutex> lock(mu_);
    EndPass();
  }

  const std::vector<Bucket>& buckets() const { return buckets_; }

 private:
  struct ReadyHook : ag::FunctionPostHook {
    ReadyHook(std::weak_ptr<Reducer> r, size_t i) : reducer(std::move(r)), index(i) {}
    ag::variable_list operator()(const ag::variable_list& outputs, const ag::variable_list& /*inputs*/) override {
      if (auto r = reducer.lock()) r->OnGradReady(index);
      return outputs;
    }
    std::weak_ptr<Reducer> reducer;
    size_t index;
  };

  void BeginPass() {
    for (auto& b : buckets_) {
      b.flat = at::empty({b.numel}, b.options);
      b.pending = b.params.size();
      b.work.reset();
      b.launched = false;
      b.late = false;
    }
    std::fill(fired_.begin(), fired_.end(), 0);
    std::fill(counted_.begin(), counted_.end(), false);
    nextBucket_ = 0;
    launchedInBackward_ = 0;
    error_.clear();
    passActive_ = true;
  }

  // Works still in flight keep their tensors alive inside Gloo; dropping ours is safe.
  void EndPass() {
    for (auto& b : buckets_) {
      b.flat = at::Tensor();
      b.work.reset();
      b.launched = false;
    }
    passActive_ = false;
  }

  void CopyIn(size_t i) {
    at::NoGradGuard noGrad;
    const Bucket& b = buckets_[bucketOf_[i]];
    at::Tensor slot = b.flat.narrow(0, b.offsets[slotOf_[i]], params_[i].numel());
    const at::Tensor& g = params_[i].grad();
    if (!g.defined()) slot.zero_();
    else slot.view(params_[i].sizes()).copy_(g.is_sparse() ? g.to_dense() : g);
  }

  void LaunchReady(bool inBackward) {
    while (nextBucket_ < buckets_.size() && buckets_[nextBucket_].pending == 0) {
      Bucket& b = buckets_[nextBucket_++];
      b.launched = true;
      if (inBackward) launchedInBackward_ += 1;
      std::vector<at::Tensor> ts{b.flat};
      c10d::AllreduceOptions opts;
      opts.reduceOp = c10d::ReduceOp::SUM;
      try {
        b.work = group_->allreduce(ts, opts);
      } catch (const std::exception& e) {
        if (error_.empty()) error_ = std::string("starting the all-reduce of bucket ") + std::to_string(nextBucket_ - 1) + ": " + e.what();
      }
    }
  }

  void Wait(Bucket& b, size_t k, Ms timeout) {
    if (!b.work) return;
    try {
      b.work->wait(timeout);
    } catch (const std::exception& e) {
      throw CollectiveError("bucket " + std::to_string(k) + " of " + std::to_string(buckets_.size()) + ": " + e.what());
    }
  }

  void RunCollective(at::Tensor& t, const std::string& what, Ms timeout) {
    std::vector<at::Tensor> ts{t};
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    try {
      group_->allreduce(ts, opts)->wait(timeout);
    } catch (const std::exception& e) {
      throw CollectiveError(what + ": " + e.what());
    }
  }

  c10::intrusive_ptr<ProcessGroupBase> group_;
  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> targets_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucketOf_;
  std::vector<size_t> slotOf_;
  std::vector<std::pair<AccumulatorPtr, uintptr_t>> hooks_;
  std::mutex mu_;
  bool requireSync_ = true;
  bool passActive_ = false;
  std::vector<int64_t> fired_;
  std::vector<int64_t> expected_;
  std::vector<bool> counted_;
  size_t nextBucket_ = 0;
  int64_t launchedInBackward_ = 0;
  std::string error_;
};

Table<std::shared_ptr<Reducer>>& Reducers() {
  static Table<std::shared_ptr<Reducer>> t;
  return t;
}

Napi::Array IndexArray(Napi::Env env, const std::vector<int64_t>& xs) {
  auto a = Napi::Array::New(env, xs.size());
  for (size_t i = 0; i < xs.size(); i++) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(xs[i])));
  return a;
}

// (group, params[], targets[], bucketBytes) → reducer id. targets[i] receives params[i]'s summed
// gradient (itself, or a float32 master of a bf16 parameter); buckets take the targets' dtype.
TF_FN(DistReducerCreate, {
  auto group = GroupById(Int(info[0], "group"));
  auto params = UnwrapList(info[1], "params");
  auto targets = UnwrapList(info[2], "targets");
  int64_t bucketBytes = Int(info[3], "bucketBytes");
  if (bucketBytes < 1) throw ArgError("bucketBytes: expected ≥ 1");
  if (params.empty()) throw ArgError("params: expected at least one parameter");
  if (targets.size() != params.size()) throw ArgError("targets: expected one per parameter (" + std::to_string(params.size()) + ")");
  std::unordered_set<const void*> seen;
  for (size_t i = 0; i < params.size(); i++) {
    const auto& p = params[i];
    std::string name = "params[" + std::to_string(i) + "]";
    if (!p.requires_grad() || !p.is_leaf()) throw ArgError(name + ": expected a leaf tensor that requires grad (frozen parameters take no part)");
    if (!seen.insert(p.unsafeGetTensorImpl()).second) throw ArgError(name + ": listed twice");
    const auto& t = targets[i];
    if (t.numel() != p.numel()) throw ArgError("targets[" + std::to_string(i) + "]: expected as many elements as " + name);
    if (!at::isFloatingType(t.scalar_type())) throw ArgError("targets[" + std::to_string(i) + "]: expected a floating-point tensor");
  }
  auto reducer = std::make_shared<Reducer>(group, std::move(params), std::move(targets), bucketBytes);
  reducer->Install(reducer);
  return Napi::Number::New(env, static_cast<double>(Reducers().Add(reducer)));
})

TF_FN(DistReducerSetRequireSync, {
  Reducers().Get(Int(info[0], "reducer"), "reducer")->SetRequireSync(Bool(info[1], "requireSync"));
  return env.Undefined();
})

// → the parameter indices of each bucket, in launch order.
TF_FN(DistReducerBuckets, {
  auto r = Reducers().Get(Int(info[0], "reducer"), "reducer");
  const auto& bs = r->buckets();
  auto out = Napi::Array::New(env, bs.size());
  for (size_t k = 0; k < bs.size(); k++) {
    std::vector<int64_t> idx(bs[k].params.begin(), bs[k].params.end());
    out.Set(static_cast<uint32_t>(k), IndexArray(env, idx));
  }
  return out;
})

// (reducer, factor, timeoutMs) → { launchedInBackward, lateBuckets, locallyUnused, globallyUnused }.
// Blocks until every bucket is reduced; a failed collective throws an Error whose name is "CollectiveError".
TF_FN(DistReducerFinish, {
  auto r = Reducers().Get(Int(info[0], "reducer"), "reducer");
  double factor = Num(info[1], "factor");
  Ms timeout(Int(info[2], "timeoutMs"));
  PassStats s;
  try {
    s = r->Finish(factor, timeout);
  } catch (const CollectiveError& e) {
    auto err = Napi::Error::New(env, e.what());
    err.Set("name", Napi::String::New(env, "CollectiveError"));
    throw err;
  }
  auto out = Napi::Object::New(env);
  out.Set("launchedInBackward", Napi::Number::New(env, static_cast<double>(s.launchedInBackward)));
  out.Set("lateBuckets", IndexArray(env, s.lateBuckets));
  out.Set("locallyUnused", IndexArray(env, s.locallyUnused));
  out.Set("globallyUnused", IndexArray(env, s.globallyUnused));
  return out;
})

TF_FN(DistReducerReset, {
  Reducers().Get(Int(info[0], "reducer"), "reducer")->Reset();
  return env.Undefined();
})

// Removes the hooks now (the parameters may outlive the reducer).
TF_FN(DistReducerDestroy, {
  auto r = Reducers().Take(Int(info[0], "reducer"));
  if (!r) return Napi::Boolean::New(env, false);
  r->Uninstall();
  return Napi::Boolean::New(env, true);
})

}  // namespace

void RegisterGradReducer(Napi::Env env, Exports exports) {
  TF_EXPORT("distReducerCreate", DistReducerCreate);
  TF_EXPORT("distReducerSetRequireSync", DistReducerSetRequireSync);
  TF_EXPORT("distReducerBuckets", DistReducerBuckets);
  TF_EXPORT("distReducerFinish", DistReducerFinish);
  TF_EXPORT("distReducerReset", DistReducerReset);
  TF_EXPORT("distReducerDestroy", DistReducerDestroy);
}

}  // namespace tf
