# The two commands of the README:
#   make demo   set everything up, train on the King James Bible, sample, report perplexity
#   make test   set everything up and run the tests
# Other targets: build (release binary), corpus (the default corpus), bench (speed against PyTorch).

export PATH := $(PATH):/opt/swift/usr/bin
QUILL := .build/release/quill
DEMO_TIME ?= 10m
DEMO_OUT ?= models/kjv

.PHONY: demo test setup build corpus bench

setup:
	@bash scripts/setup-system.sh

build: setup
	swift build -c release --product quill

corpus: corpora/data/kjv.txt

corpora/data/kjv.txt:
	@bash corpora/kjv.sh

demo: build corpus
	$(QUILL) train corpora/data/kjv.txt --doc-separator % --out $(DEMO_OUT) --time $(DEMO_TIME)
	$(QUILL) sample $(DEMO_OUT)/model.safetensors --prompt "And God said" --length 400 --temperature 0.8 --seed 1

test: setup
	swift test

bench: build
	python3 scripts/compare_with_pytorch.py

# make fuzz: libFuzzer on the five parsers, FUZZ_SECONDS each (default 600), two at a time;
# fails on any crash, leak, timeout or out-of-memory (see Fuzz/README.md). Not part of make test.
.PHONY: fuzz
FUZZ_SECONDS ?= 600
fuzz: setup
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh
