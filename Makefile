# The two quickstart commands (README.md): `make grpo` and `make test`. Both run setup first;
# setup is idempotent and skips what is already installed or built. --single-threaded-gc keeps
# V8's background GC threads off the cores the tensor kernels use (src/actors/child-transport.ts).
.PHONY: setup grpo grpo-smollm2 agent test default-model agent-model
setup:
	bash scripts/setup.sh
grpo: setup
	node --single-threaded-gc --import tsx apps/grpo/main.ts --config apps/grpo/default.yaml
# GRPO on a real pretrained model: SmolLM2-135M-Instruct (fetched once into ~/.cache/torchforge) on small additions.
grpo-smollm2: setup
	bash scripts/fetch-smollm2.sh
	node --single-threaded-gc --import tsx apps/grpo/main.ts --config apps/grpo/smollm2_arith.yaml
# The agentic task: GRPO on multi-turn calculator tool use (apps/agent/calculator.yaml).
agent: setup
	node --single-threaded-gc --import tsx apps/grpo/main.ts --config apps/agent/calculator.yaml
test: setup
	npm test
# Regenerates the default GRPO starting checkpoint (assets/default-model) with the SFT app.
default-model: setup
	node --single-threaded-gc --import tsx apps/sft/main.ts --config apps/sft/default.yaml
	rm -rf assets/default-model && cp -r runs/sft-default/model assets/default-model
# Regenerates the agentic task's starting checkpoint (assets/agent-model): SFT conversations that
# call the calculator, the SFT app on the agent tokenizer (a checkpoint every 25 steps), and the
# first checkpoint whose validation success is in [25%, 50%] (see apps/sft/agent.yaml).
agent-model: setup
	node --import tsx scripts/make-agent-sft-data.ts runs/agent-sft-data
	rm -rf runs/sft-agent/checkpoints
	node --single-threaded-gc --import tsx apps/sft/main.ts --config apps/sft/agent.yaml
	node --single-threaded-gc --import tsx scripts/pick-agent-checkpoint.ts runs/sft-agent/checkpoints assets/agent-model
