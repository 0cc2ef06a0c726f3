# The two quickstart commands (README.md): `make grpo` and `make test`. Both run setup first;
# setup is idempotent and skips what is already installed or built.
.PHONY: setup grpo test
setup:
	bash scripts/setup.sh
grpo: setup
	node --import tsx apps/demo/train-demo.ts
test: setup
	npm test
