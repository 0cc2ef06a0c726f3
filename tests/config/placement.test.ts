// The seed's launch spelling (`--trainer.procs 4 --generator.procs 4`) maps to this project's
// placement keys, and parallelism this project does not implement is an error naming the key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadGrpoConfig, loadSftConfig } from "../../src/config/index.ts";

const sftBase = { model: { preset: "tiny" }, dataset: { path: "arithmetic:add-2d" } };
const grpoBase = { model: { preset: "tiny" }, dataset: { path: "arithmetic:add-2d" }, grpo: { beta: 0 } };

test("SFT: --trainer.procs N means processes.procs N", () => {
  const { config } = loadSftConfig({ data: sftBase, overrides: ["--trainer.procs", "2"] });
  assert.equal(config.processes.procs, 2);
  assert.throws(() => loadSftConfig({ data: { ...sftBase, processes: { procs: 1 } }, overrides: ["trainer.procs=2"] }), /"trainer.procs": conflicts with processes.procs \(1\)/);
});

test("GRPO: --generator.num_replicas / --trainer.procs / --ref_model.* land in services.<role>", () => {
  const { config } = loadGrpoConfig({ data: grpoBase, overrides: ["--generator.num_replicas", "2", "--trainer.with_gpus=false"] });
  assert.equal(config.services.generator.numReplicas, 2);
  assert.equal(config.services.trainer.withGpus, false);
  // The seed's trainer: section keeps its own keys next to a moved placement key.
  const seed = loadGrpoConfig({ data: { ...grpoBase, trainer: { training: { steps: 3 } } }, overrides: ["trainer.procs=1"] });
  assert.equal(seed.config.trainer?.training?.steps, 3);
  assert.equal(seed.config.services.trainer.procs, 1);
});

test("GRPO: what is not implemented is refused, naming the key (never ignored)", () => {
  assert.equal(loadGrpoConfig({ data: grpoBase, overrides: ["--trainer.procs", "4"] }).config.services.trainer.procs, 4, "colocated data-parallel GRPO");
  assert.throws(() => loadGrpoConfig({ data: grpoBase, overrides: ["--trainer.procs", "4", "placement=separate"] }), /services\.trainer\.procs.*4 with placement: separate is not implemented.*set placement: colocated, or services\.trainer\.procs: 1/s);
  assert.throws(() => loadGrpoConfig({ data: grpoBase, overrides: ["--generator.procs", "4"] }), /services\.generator\.procs.*more than one process per generator replica/s);
  assert.throws(() => loadGrpoConfig({ data: grpoBase, overrides: ["parallelism.tensor_parallel_degree=2"] }), /parallelism\.tensor_parallel_degree.*tensor parallel is not implemented/s);
  assert.throws(() => loadGrpoConfig({ data: grpoBase, overrides: ["trainer.parallelism.pipeline_parallel_degree=2"] }), /trainer\.parallelism\.pipeline_parallel_degree/);
});

test("parallelism.zero_stage: 1 is accepted (one process has nothing to shard); 2 and 3 are refused naming the key; not read in seed sections", () => {
  assert.equal(loadSftConfig({ data: sftBase }).config.parallelism.zeroStage, 0);
  assert.equal(loadSftConfig({ data: sftBase, overrides: ["processes.procs=2", "parallelism.zero_stage=1"] }).config.parallelism.zeroStage, 1);
  assert.equal(loadSftConfig({ data: sftBase, overrides: ["parallelism.zero_stage=1"] }).config.parallelism.zeroStage, 1);
  assert.throws(() => loadSftConfig({ data: sftBase, overrides: ["processes.procs=2", "parallelism.zero_stage=2"] }), /parallelism\.zero_stage: 2: ZeRO stage 2 \(sharded gradients\) is not implemented; set it to 1/);
  assert.throws(() => loadGrpoConfig({ data: grpoBase, overrides: ["parallelism.zero_stage=3"] }), /parallelism\.zero_stage: 3: ZeRO stage 3 \(sharded gradients and parameters\) is not implemented/);
  assert.throws(() => loadSftConfig({ data: sftBase, overrides: ["parallelism.zero_stage=4"] }), /parallelism\.zero_stage/);
  assert.equal(loadGrpoConfig({ data: grpoBase, overrides: ["services.trainer.procs=2", "placement=colocated", "parallelism.zero_stage=1"] }).config.parallelism.zeroStage, 1);
  assert.throws(() => loadGrpoConfig({ data: grpoBase, overrides: ["trainer.parallelism.zero_stage=1"] }), /trainer\.parallelism\.zero_stage: 1: not read in this section; set parallelism\.zero_stage/);
});

test("SFT parallelism: replicate degree must match processes.procs; sharding and model parallelism are refused", () => {
  const ok = loadSftConfig({ data: sftBase, overrides: ["processes.procs=2", "parallelism.data_parallel_replicate_degree=2"] });
  assert.equal(ok.config.parallelism.dataParallelReplicateDegree, 2);
  assert.throws(() => loadSftConfig({ data: sftBase, overrides: ["parallelism.data_parallel_replicate_degree=2"] }), /must equal processes\.procs \(1\)/);
  assert.throws(() => loadSftConfig({ data: sftBase, overrides: ["processes.procs=2", "parallelism.data_parallel_shard_degree=-1"] }), /sharded data parallelism \(FSDP\/ZeRO\) is not implemented/);
  // -1 on one process is one shard: nothing to refuse.
  assert.equal(loadSftConfig({ data: sftBase, overrides: ["parallelism.data_parallel_shard_degree=-1"] }).config.parallelism.dataParallelShardDegree, -1);
  assert.throws(() => loadSftConfig({ data: sftBase, overrides: ["parallelism.context_parallel_degree=2"] }), /context parallel is not implemented/);
});
