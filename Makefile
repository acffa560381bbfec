# insightmap: two commands on a fresh machine — `make themes` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install browser test themes validate bench bench-scale models lint clean

install: $(STAMP)

# The stamp is keyed on pyproject.toml: rerunning install is instant until dependencies change.
# torch==2.13.0 first: the CPU wheel on local disk, so no multi-GB CUDA build is pulled in.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/insightmap prepare
	touch $@

# The report is tested in a real browser: Debian's Chromium (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null || { \
	  command -v apt-get >/dev/null || { echo "error: install Chromium (Debian: apt-get install chromium)" >&2; exit 1; }; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# pytest exits 5 when it collected no tests: that is a failure here, never a pass.
test: install browser
	@INSIGHTMAP_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

themes: install
	$(BIN)/insightmap themes transcripts -o out

validate: install
	$(BIN)/insightmap validate transcripts

bench: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m benchmarks.ingest
	$(BIN)/python -m benchmarks.units
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.zones
	$(BIN)/python scripts/train_zones.py --evaluate
	$(BIN)/python -m benchmarks.coded
	$(BIN)/python -m benchmarks.readable
	$(BIN)/python -m benchmarks.personas
	$(BIN)/python -m benchmarks.report
	$(BIN)/python -m benchmarks.codebook
	$(BIN)/python -m benchmarks.scale --agreement --sizes

# Scale: 10k / 30k / 100k units of real text, per-stage time and peak memory, beside the encode floor and BERTopic;
# and the int8 encoder's quality against the torch model. Not part of `make test` (about an hour on 2 cores).
bench-scale: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m benchmarks.scale --quality

# The zone head learned from real labelled quotes (needs ../shared/data); the result is committed as data.
models: install
	$(BIN)/python scripts/train_zones.py

lint: install
	$(BIN)/ruff check pipeline tests benchmarks scripts

clean:
	rm -rf $(VENV) out .insightmap-cache test-artifacts .bench-scale
