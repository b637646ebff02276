# The two commands of the README. Both set up first (idempotent, scripts/setup.sh).
BUN := node_modules/.bin/bun

.PHONY: serve test setup setup-test shim typecheck binary
serve: setup
	$(BUN) src/index.ts serve

test: setup-test
	$(BUN) test --timeout 120000

setup:
	bash scripts/setup.sh

setup-test:
	bash scripts/setup.sh --oracle

typecheck:
	node_modules/.bin/tsc --noEmit -p .

# The standalone executable and its native libraries in dist/ (docs/packaging.md).
binary:
	bash scripts/build-binary.sh
