# The only entry points: `make run`, `make test`, `make bench`.
.PHONY: run test bench deps lint

CARGO ?= cargo

run:
	./scripts/demo-hub.sh

deps:
	./scripts/install-deps.sh

lint: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --all-features --locked -- -D warnings

test: lint
	./scripts/with-keyring.sh $(CARGO) nextest run --workspace --all-features --locked --no-fail-fast

bench: deps
	./scripts/bench.sh
