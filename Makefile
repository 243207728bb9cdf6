# The entry points: `make run`, `make test`, `make bench`, and `make package` (Linux packages).
.PHONY: run test bench deps lint ui bindings package

CARGO ?= cargo

run: ui
	./scripts/run.sh

deps:
	./scripts/install-deps.sh

# The desktop app embeds the built UI, so it is built before any cargo step.
ui: deps
	npm --prefix ui run build

lint: deps ui
	$(CARGO) fmt --all --check
	npm --prefix ui run check
	$(CARGO) clippy --workspace --all-targets --all-features --locked -- -D warnings

test: lint
	# The release workflow (it runs on GitHub, not here) and each platform's dependencies.
	./scripts/release-check.sh
	npm --prefix ui test
	./scripts/with-keyring.sh $(CARGO) nextest run --workspace --all-features --locked --no-fail-fast
	# The hub's suite again, every test hub on PostgreSQL with its files in an S3 bucket
	# (Garage), as replicas run.
	./scripts/with-postgres.sh ./scripts/with-garage.sh ./scripts/with-keyring.sh $(CARGO) nextest run -p sealpost-hub --all-features --locked --no-fail-fast
	./scripts/api-conformance.sh
	# The release app's .deb and .rpm, built, checked, installed, tried in a window,
	# updated and removed.
	./scripts/package-check.sh

bench: ui
	./scripts/bench.sh

# The window's TypeScript bindings, generated from the Rust commands, events and types;
# `make test` fails while the committed file is stale.
bindings:
	SEALPOST_WRITE_BINDINGS=1 $(CARGO) test -p sealpost-desktop --lib --locked the_windows_bindings

# The release app's .deb and .rpm (target/release/bundle/), with the terminal client.
package: ui
	./scripts/package.sh
