// c10d bindings: libtorch's own TCPStore rendezvous and Gloo process groups, so data-parallel
// training uses the collectives PyTorch's torch.distributed uses (same wire, same algorithms)
// rather than a home-made substitute.
//
// Objects crossing the boundary are small integer ids into per-kind tables (stores, groups, work
// handles): they are few and long-lived, so a table is simpler than tensor-style handles. A work
// entry keeps its tensors referenced until it is released, because Gloo reads and writes them on
// its own threads after the call returns; JavaScript must not touch them until `wait` resolves.
#include "common.h"

#include "distributed.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>

namespace tf {
namespace {

using c10d::ProcessGroupGloo;
using Ms = std::chrono::milliseconds;

struct WorkEntry {
  WorkPtr work;
  std::vector<at::Tensor> keepAlive;
};

Table<c10::intrusive_ptr<c10d::Store>>& Stores() {
  static Table<c10::intrusive_ptr<c10d::Store>> t;
  return t;
}
// Gloo and NCCL groups alike, through their common base (collectives are virtual on it).
Table<c10::intrusive_ptr<ProcessGroupBase>>& Groups() {
  static Table<c10::intrusive_ptr<ProcessGroupBase>> t;
  return t;
}
Table<std::shared_ptr<WorkEntry>>& Works() {
  static Table<std::shared_ptr<WorkEntry>> t;
  return t;
}

std::string Str(const Napi::Value& v, const char* argName) {
  if (!v.IsString()) throw ArgError(std::string(argName) + ": expected a string");
  return v.As<Napi::String>().Utf8Value();
}

// Reduce ops as codes: 0 sum, 1 product, 2 min, 3 max (Gloo has no AVG: the TypeScript side divides).
c10d::ReduceOp ReduceOpArg(const Napi::Value& v, const char* argName) {
  switch (Int(v, argName)) {
    case 0: return c10d::ReduceOp::SUM;
    case 1: return c10d::ReduceOp::PRODUCT;
    case 2: return c10d::ReduceOp::MIN;
    case 3: return c10d::ReduceOp::MAX;
    default: throw ArgError(std::string(argName) + ": expected a reduce-op code 0..3 (sum, product, min, max)");
  }
}

Napi::Value AddWork(Napi::Env env, WorkPtr work, std::vector<at::Tensor> keepAlive) {
  auto entry = std::make_shared<WorkEntry>();
  entry->work = std::move(work);
  entry->keepAlive = std::move(keepAlive);
  return Napi::Number::New(env, static_cast<double>(Works().Add(std::move(entry))));
}

// Collectives need dense contiguous tensors on one device; a view would make Gloo write through a
// temporary and the caller would never see the result.
void CheckDense(const std::vector<at::Tensor>& ts, const char* argName) {
  for (const auto& t : ts) {
    if (!t.is_contiguous()) throw ArgError(std::string(argName) + ": collectives need contiguous tensors (call .contiguous() first)");
  }
}

TF_FN(DistStoreCreate, {
  c10d::TCPStoreOptions opts;
  std::string host = Str(info[0], "host");
  int64_t port = Int(info[1], "port");
  if (port < 0 || port > 65535) throw ArgError("port: expected 0..65535");
  opts.port = static_cast<std::uint16_t>(port);
  opts.isServer = Bool(info[2], "isServer");
  int64_t world = Int(info[3], "worldSize");
  if (world < 1) throw ArgError("worldSize: expected ≥ 1");
  opts.numWorkers = static_cast<std::size_t>(world);
  opts.waitWorkers = false;  // the process group's own rendezvous waits for every rank
  opts.timeout = Ms(Int(info[4], "timeoutMs"));
  c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(host, opts);
  return Napi::Number::New(env, static_cast<double>(Stores().Add(store)));
})

TF_FN(DistStoreSet, {
  auto store = Stores().Get(Int(info[0], "store"), "store");
  std::string value = Str(info[2], "value");
  store->set(Str(info[1], "key"), std::vector<uint8_t>(value.begin(), value.end()));
  return env.Undefined();
})

TF_FN(DistStoreGet, {
  auto store = Stores().Get(Int(info[0], "store"), "store");
  auto bytes = store->get(Str(info[1], "key"));  // waits up to the store's timeout
  return Napi::String::New(env, std::string(bytes.begin(), bytes.end()));
})

TF_FN(DistStoreAdd, {
  auto store = Stores().Get(Int(info[0], "store"), "store");
  return Napi::Number::New(env, static_cast<double>(store->add(Str(info[1], "key"), Int(info[2], "delta"))));
})

TF_FN(DistStoreDestroy, { return Napi::Boolean::New(env, Stores().Remove(Int(info[0], "store"))); })

// (store, prefix, rank, worldSize, timeoutMs, hostname) → group id. The prefix namespaces the
// group's rendezvous keys so several groups can share one store.
// The (store, prefix, rank, worldSize) arguments every group kind starts with: the store
// namespaced by the prefix, the rank checked against the world size.
struct GroupArgs {
  c10::intrusive_ptr<c10d::Store> store;
  int rank;
  int world;
};

static GroupArgs ReadGroupArgs(const Napi::CallbackInfo& info) {
  auto store = Stores().Get(Int(info[0], "store"), "store");
  std::string prefix = Str(info[1], "prefix");
  int64_t rank = Int(info[2], "rank");
  int64_t world = Int(info[3], "worldSize");
  if (world < 1) throw ArgError("worldSize: expected ≥ 1");
  if (rank < 0 || rank >= world) throw ArgError("rank: expected 0 ≤ rank < worldSize");
  return {c10::make_intrusive<c10d::PrefixStore>(prefix, store), static_cast<int>(rank), static_cast<int>(world)};
}

TF_FN(DistGlooCreate, {
  GroupArgs g = ReadGroupArgs(info);
  auto options = ProcessGroupGloo::Options::create(Ms(Int(info[4], "timeoutMs")));
  options->devices.push_back(ProcessGroupGloo::createDeviceForHostname(Str(info[5], "hostname")));
  options->threads = 2;
  auto group = c10::make_intrusive<ProcessGroupGloo>(g.store, g.rank, g.world, options);
  return Napi::Number::New(env, static_cast<double>(Groups().Add(group)));
})

// (store, prefix, rank, worldSize, timeoutMs) → group id: an NCCL group (CUDA tensors only; each
// rank uses the device its tensors are on). Compiled only where libtorch has CUDA and the CUDA and
// NCCL headers were found at build time (find-libtorch.mjs nccl); elsewhere it throws saying so.
TF_FN(DistNcclCreate, {
#ifndef TORCHFORGE_WITH_NCCL
  throw std::runtime_error(NcclUnavailableReason());
#endif
  GroupArgs g = ReadGroupArgs(info);
  int64_t timeoutMs = Int(info[4], "timeoutMs");
#ifdef TORCHFORGE_WITH_NCCL
  auto group = MakeNcclGroup(g.store, g.rank, g.world, timeoutMs);
  return Napi::Number::New(env, static_cast<double>(Groups().Add(group)));
#else
  (void)g;
  (void)timeoutMs;
  return env.Undefined();  // unreachable: thrown above
#endif
})

// ncclAvailable() → whether DistNcclCreate was compiled in (not whether a GPU is present).
TF_FN(DistNcclAvailable, {
#ifdef TORCHFORGE_WITH_NCCL
  return Napi::Boolean::New(env, true);
#else
  return Napi::Boolean::New(env, false);
#endif
})

TF_FN(DistGroupDestroy, { return Napi::Boolean::New(env, Groups().Remove(Int(info[0], "group"))); })

TF_FN(DistAllReduce, {
  auto group = Groups().Get(Int(info[0], "group"), "group");
  auto tensors = UnwrapList(info[1], "tensors");
  CheckDense(tensors, "tensors");
  c10d::AllreduceOptions opts;
  opts.reduceOp = ReduceOpArg(info[2], "op");
  auto work = group->allreduce(tensors, opts);
  return AddWork(env, work, tensors);
})

TF_FN(DistBroadcast, {
  auto group = Groups().Get(Int(info[0], "group"), "group");
  auto tensors = UnwrapList(info[1], "tensors");
  CheckDense(tensors, "tensors");
  c10d::BroadcastOptions opts;
  opts.rootRank = Int(info[2], "src");
  if (opts.rootRank < 0 || opts.rootRank >= group->getSize()) throw ArgError("src: expected a rank of the group");
  auto work = group->broadcast(tensors, opts);
  return AddWork(env, work, tensors);
})

// (group, outputs[worldSize], input) — each rank's input lands in outputs[rank].
TF_FN(DistAllGather, {
  auto group = Groups().Get(Int(info[0], "group"), "group");
  auto outputs = UnwrapList(info[1], "outputs");
  std::vector<at::Tensor> inputs{TF_ARG(2, "input")};
  CheckDense(outputs, "outputs");
  CheckDense(inputs, "input");
  if (static_cast<int64_t>(outputs.size()) != group->getSize()) throw ArgError("outputs: expected one tensor per rank");
  std::vector<std::vector<at::Tensor>> outputLists{outputs};
  auto work = group->allgather(outputLists, inputs);
  std::vector<at::Tensor> keep = outputs;
  keep.push_back(inputs[0]);
  return AddWork(env, work, keep);
})

TF_FN(DistBarrier, {
  auto group = Groups().Get(Int(info[0], "group"), "group");
  return AddWork(env, group->barrier(), {});
})

TF_FN(DistWorkIsCompleted, {
  auto entry = Works().Get(Int(info[0], "work"), "work");
  return Napi::Boolean::New(env, entry->work->isCompleted());
})

// Blocks the calling thread; for code that has nothing else to do until the collective ends.
TF_FN(DistWorkWait, {
  auto entry = Works().Get(Int(info[0], "work"), "work");
  entry->work->wait(Ms(Int(info[1], "timeoutMs")));
  return env.Undefined();
})

TF_FN(DistWorkRelease, { return Napi::Boolean::New(env, Works().Remove(Int(info[0], "work"))); })

// Waits on libuv's thread pool so the event loop (IPC, signals, timers) keeps running meanwhile.
class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, std::shared_ptr<WorkEntry> entry, Ms timeout)
      : Napi::AsyncWorker(env), entry_(std::move(entry)), timeout_(timeout), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      entry_->work->wait(timeout_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::shared_ptr<WorkEntry> entry_;
  Ms timeout_;
  Napi::Promise::Deferred deferred_;
};

TF_FN(DistWorkWaitAsync, {
  auto entry = Works().Get(Int(info[0], "work"), "work");
  auto* worker = new WaitWorker(env, entry, Ms(Int(info[1], "timeoutMs")));
  auto promise = worker->Promise();
  worker->Queue();
  return promise;
})

}  // namespace

c10::intrusive_ptr<ProcessGroupBase> GroupById(int64_t id) { return Groups().Get(id, "group"); }

void RegisterDistributed(Napi::Env env, Exports exports) {
  TF_EXPORT("distStoreCreate", DistStoreCreate);
  TF_EXPORT("distStoreSet", DistStoreSet);
  TF_EXPORT("distStoreGet", DistStoreGet);
  TF_EXPORT("distStoreAdd", DistStoreAdd);
  TF_EXPORT("distStoreDestroy", DistStoreDestroy);
  TF_EXPORT("distGlooCreate", DistGlooCreate);
  TF_EXPORT("distNcclCreate", DistNcclCreate);
  TF_EXPORT("distNcclAvailable", DistNcclAvailable);
  TF_EXPORT("distGroupDestroy", DistGroupDestroy);
  TF_EXPORT("distAllReduce", DistAllReduce);
  TF_EXPORT("distBroadcast", DistBroadcast);
  TF_EXPORT("distAllGather", DistAllGather);
  TF_EXPORT("distBarrier", DistBarrier);
  TF_EXPORT("distWorkIsCompleted", DistWorkIsCompleted);
  TF_EXPORT("distWorkWait", DistWorkWait);
  TF_EXPORT("distWorkWaitAsync", DistWorkWaitAsync);
  TF_EXPORT("distWorkRelease", DistWorkRelease);
}

}  // namespace tf
