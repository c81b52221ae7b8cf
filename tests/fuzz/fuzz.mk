# tests/fuzz/fuzz.mk - libFuzzer harnesses (included by the Makefile).
#
#   make fuzz [FUZZ_SECONDS=60]   build every harness, run each that long
#   make check-fuzz               the same for FUZZ_CHECK_SECONDS (part of make check)
#
# The libraries are built again in their own directory by clang with
# coverage instrumentation (-fsanitize=fuzzer-no-link) and ASan + UBSan;
# each harness tests/fuzz/fuzz_NAME.c links libFuzzer's main
# (-fsanitize=fuzzer).  tests/fuzz/run.sh runs them on a scratch copy of
# the committed seed corpus, tests/fuzz/corpus/NAME/.

FUZZ_BUILD         ?= build-fuzz
FUZZ_CC            ?= clang
FUZZ_SECONDS       ?= 60
FUZZ_CHECK_SECONDS ?= 6
FUZZ_SAN           := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_SRC           := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN            = $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: fuzz check-fuzz fuzz-build fuzz-bins clean-fuzz

$(BUILD)/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(BUILD)/libmimir-agent.a \
                 $(BUILD)/libmimir-runtime.a $(BUILD)/libmimir.a
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) -fsanitize=fuzzer -Iagent -Iruntime $(CJSON_CFLAGS) \
	    $(call pkg_cflags,$(AGENT_PKGS)) $(MM_LDFLAGS) -o $@ $< \
	    $(BUILD)/libmimir-agent.a $(BUILD)/libmimir-runtime.a $(BUILD)/libmimir.a \
	    $(call pkg_libs,$(AGENT_PKGS)) $(CJSON_LIBS) -lpthread

fuzz-bins: $(FUZZ_BIN)

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) HELPER_STATIC=0 \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $(FUZZ_SAN)" \
	    LDFLAGS="$(FUZZ_SAN)" fuzz-bins

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

check-fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_CHECK_SECONDS)

clean: clean-fuzz
clean-fuzz:
	rm -rf $(FUZZ_BUILD)
