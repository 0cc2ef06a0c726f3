import { test } from "node:test";
import assert from "node:assert/strict";
import { torch, F, TorchError } from "../../src/torch/index.ts";

const isTorchError = (re: RegExp) => (e: unknown) => e instanceof TorchError && e.name === "TorchError" && re.test((e as Error).message);

test("libtorch errors become TorchError with libtorch's message, never an abort", () => {
  const a = torch.ones([2, 3]);
  assert.throws(() => a.matmul(torch.ones([2, 3])), isTorchError(/cannot be multiplied \(2x3 and 2x3\)/));
  assert.throws(() => a.add(torch.ones([4])), isTorchError(/size of tensor a \(3\) must match the size of tensor b \(4\)/));
  assert.throws(() => a.view(4), isTorchError(/shape '\[4\]' is invalid for input of size 6/));
  assert.throws(() => a.transpose(0, 5), isTorchError(/Dimension out of range/));
  assert.throws(() => torch.cat([a, torch.ones([2, 3], { dtype: "int64" }).unsqueeze(0)]), TorchError);
  assert.throws(() => a.gather(1, torch.tensor([[0.5]])), isTorchError(/gather\(\): Expected dtype int(32\/int)?64/));
  assert.throws(() => F.embedding(torch.tensor([5]), torch.ones([3, 2])), isTorchError(/index out of range/));
  assert.throws(() => a.item(), isTorchError(/one element, got 6/));
  assert.throws(() => torch.tensor([1, 2]).backward(), TorchError);
  assert.throws(() => a.to("tpu" as never), TorchError);
  assert.throws(() => F.crossEntropy(torch.ones([2, 3]), torch.tensor([0, 7])), isTorchError(/out of bounds|Target 7/));
});

test("wrong JS argument types give a TypeError naming the argument", () => {
  const a = torch.ones([2]);
  assert.throws(() => a.add("1" as never), { name: "TypeError", message: "argument 'other' must be a Tensor or a number; got string" });
  assert.throws(() => a.add({} as never), { name: "TypeError", message: "argument 'other' must be a Tensor or a number; got [object Object]" });
  assert.throws(() => a.add(1n as never), { name: "TypeError", message: "argument 'other' must be a Tensor or a number; got bigint" });
  assert.throws(() => torch.where(a.gt(0), 1n as never, a), { name: "TypeError", message: "argument 'input' must be a Tensor or a number; got bigint" });
  assert.throws(() => torch.cat([a, {} as never]), TypeError);
  assert.throws(() => a.narrow(0, 0.5, 1), { name: "TypeError", message: "argument 'start' must be an integer" });
  assert.throws(() => a.view("x" as never), /argument 'shape' must be integers/);
  assert.throws(() => torch.cat([a, 1 as never]), { name: "TypeError", message: "argument 'tensors' must be a Tensor" });
  assert.throws(() => a.to(5 as never), /argument 'target' of to\(\) must be a dtype, a device or \{ dtype, device \}/);
  assert.throws(() => a.clamp("0" as never), { name: "TypeError", message: "argument 'min' must be a number" });
  assert.throws(() => torch.setNumThreads(0), { name: "TypeError", message: "argument 'threads' must be >= 1" });
});

test("thread count defaults to the available cores", async () => {
  const { availableParallelism } = await import("node:os");
  const expected = process.env.TORCHFORGE_NUM_THREADS ? Number(process.env.TORCHFORGE_NUM_THREADS) : availableParallelism();
  assert.equal(torch.getNumThreads(), expected);
  assert.match(torch.version(), /^\d+\.\d+\.\d+/);
});

test("OpenBLAS and OpenMP variables are restored for the rest of the process after the addon loads", async () => {
  const { spawnSync } = await import("node:child_process");
  const script = `import { torch } from ${JSON.stringify(new URL("../../src/torch/index.ts", import.meta.url).pathname)};
    torch.ones([1]); console.log(JSON.stringify([process.env.OPENBLAS_CORETYPE, process.env.OPENBLAS_L2_SIZE, process.env.GOMP_SPINCOUNT ?? null]));`;
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_CORETYPE: "Haswell", OPENBLAS_L2_SIZE: "512" };
  delete env.GOMP_SPINCOUNT;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { env, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1)!), ["Haswell", "512", null]);
});

test("TORCHFORGE_NATIVE naming a missing addon is a clear error at load, resolved from the working directory", async () => {
  const { spawnSync } = await import("node:child_process");
  const script = `await import(${JSON.stringify(new URL("../../src/torch/index.ts", import.meta.url).pathname)});`;
  const env: NodeJS.ProcessEnv = { ...process.env, TORCHFORGE_NATIVE: "no/such/addon.node" };
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { env, encoding: "utf8" });
  assert.notEqual(r.status, 0);
  const expected = `TORCHFORGE_NATIVE names ${process.cwd()}/no/such/addon.node, which does not exist; expected a built torchforge_native.node`;
  assert.ok(r.stderr.includes(expected), r.stderr);
});
