# Mimir credential agent: one build for everything.
#   make            build mimir-agent and mimir-helper (gcc; make CC=clang works too)
#   make check      install what is missing, then run every test
#   make demo       install what is missing, then run the main job end to end
#   make bench      helper exec time vs /bin/true, agent requests per second
#   make asan       the test suite under ASan + UBSan
#   make install    PREFIX=/usr/local DESTDIR=

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
PKG_CONFIG ?= pkg-config

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla
# Messages are built with snprintf into fixed buffers on purpose: truncating a
# long path in an error message is fine.  gcc's guesswork about it is noise.
WARN    += $(shell $(CC) -Werror -Wno-format-truncation -E -x c /dev/null >/dev/null 2>&1 \
             && echo -Wno-format-truncation)
# CFLAGS/LDFLAGS are the user's (optimisation, sanitizers); what the build
# needs is added separately so that `make CFLAGS=...` cannot drop it.
CFLAGS  ?= -O2 -g
LDFLAGS ?=
MM_CFLAGS  = $(CFLAGS) -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -fstack-protector-strong \
             -fPIE -D_FORTIFY_SOURCE=2
MM_LDFLAGS = $(LDFLAGS) -pie -Wl,-z,relro,-z,now -Wl,--as-needed

# The helper's token path must stay tiny: cJSON only, nothing with GLib,
# libsecret or libcurl in its link line.
HELPER_PKGS := libcjson
AGENT_PKGS  := libcjson libsecret-1 gio-2.0 libcurl openssl libsodium

pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pkg_libs   = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

COMMON_SRC := $(wildcard common/*.c)
AGENT_SRC  := $(wildcard agent/*.c)
HELPER_SRC := $(wildcard helper/*.c)

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
AGENT_OBJ  := $(AGENT_SRC:%.c=$(BUILD)/%.o)
HELPER_OBJ := $(HELPER_SRC:%.c=$(BUILD)/%.o)

BINS := $(BUILD)/mimir-agent $(BUILD)/mimir-helper

.PHONY: all deps check check-unit check-integration check-extension demo bench asan install clean

all: $(BINS)

$(BUILD)/common/%.o: common/%.c $(wildcard include/mimir/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) $(call pkg_cflags,libcjson) -c -o $@ $<

$(BUILD)/agent/%.o: agent/%.c $(wildcard agent/*.h include/mimir/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) $(call pkg_cflags,$(AGENT_PKGS)) -c -o $@ $<

$(BUILD)/helper/%.o: helper/%.c $(wildcard helper/*.h include/mimir/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) $(call pkg_cflags,$(HELPER_PKGS)) -c -o $@ $<

$(BUILD)/libmimir.a: $(COMMON_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/mimir-agent: $(AGENT_OBJ) $(BUILD)/libmimir.a
	$(CC) $(MM_CFLAGS) $(MM_LDFLAGS) -o $@ $^ $(call pkg_libs,$(AGENT_PKGS)) -lpthread

$(BUILD)/mimir-helper: $(HELPER_OBJ) $(BUILD)/libmimir.a
	$(CC) $(MM_CFLAGS) $(MM_LDFLAGS) -o $@ $^ $(call pkg_libs,$(HELPER_PKGS))

# ---- tests -------------------------------------------------------------

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmimir.a
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) $(call pkg_cflags,cmocka libcjson) $(MM_LDFLAGS) -o $@ $^ \
	    $(call pkg_libs,cmocka libcjson)

# Unit tests of agent code: linked with the agent object they test.
AGENT_UNIT_SRC := $(wildcard tests/unit/agent/test_*.c)
UNIT_BIN += $(AGENT_UNIT_SRC:tests/unit/agent/%.c=$(BUILD)/tests/agent/%)

$(BUILD)/tests/agent/test_jwt: tests/unit/agent/test_jwt.c $(BUILD)/agent/jwt.o $(BUILD)/libmimir.a
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) -Iagent $(call pkg_cflags,cmocka $(AGENT_PKGS)) $(MM_LDFLAGS) -o $@ $^ \
	    $(call pkg_libs,cmocka libcjson openssl libsodium)

$(BUILD)/tests/loadclient: tests/bench/loadclient.c $(BUILD)/libmimir.a
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) $(call pkg_cflags,libcjson) $(MM_LDFLAGS) -o $@ $^ \
	    $(call pkg_libs,libcjson) -lpthread

deps:
	@tests/deps.sh

check: deps
	@$(MAKE) --no-print-directory check-unit check-integration check-extension

check-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

check-integration: $(BINS) $(BUILD)/tests/loadclient
	@tests/run-integration.sh $(BUILD)

# The VS Code extension's protocol client and commands against the real agent.
check-extension: $(BINS)
	@MM_BUILD=$(abspath $(BUILD)) bash extension-bridge/test/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@tests/demo.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/tests/loadclient
	@tests/bench/bench.sh $(BUILD)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" check-unit check-integration

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/systemd/user \
	    $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	sed 's|@BINDIR@|$(PREFIX)/bin|g' packaging/systemd/mimir-agent.service.in \
	    > $(DESTDIR)$(PREFIX)/lib/systemd/user/mimir-agent.service
	install -m 0644 packaging/systemd/mimir-agent.socket $(DESTDIR)$(PREFIX)/lib/systemd/user/
	install -m 0644 packaging/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/

clean:
	rm -rf build build-asan
