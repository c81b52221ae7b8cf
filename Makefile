# Mimir credential agent: one build for everything.
#   make            build mimir-agent and mimir-helper (gcc; make CC=clang works too)
#   make check      install what is missing, then run every test
#   make demo       install what is missing, then run the main job end to end
#   make bench      helper exec time vs /bin/true, agent requests per second,
#                   the MCP proxy vs the MCP SDK's HTTP client
#   make asan       the test suite under ASan + UBSan
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        the Debian package, in $(BUILD)/deb/ (packaging/debian)

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

AGENT_PKGS  := libsecret-1 gio-2.0 libcurl openssl libsodium

pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pkg_libs   = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

# cJSON: the bundled copy (third_party/cjson: Debian's 1.7.15 with its
# security patches) goes into libmimir.a, so every binary has the same one.
# `make CJSON=system` uses Debian's libcjson instead.
CJSON ?= bundled
ifeq ($(CJSON),bundled)
CJSON_CFLAGS  := -Ithird_party/cjson
CJSON_LIBS    :=
CJSON_OBJ     := $(BUILD)/third_party/cjson/cJSON.o
HELPER_STATIC ?= 1
else ifeq ($(CJSON),system)
CJSON_CFLAGS   = $(call pkg_cflags,libcjson)
CJSON_LIBS     = $(call pkg_libs,libcjson)
CJSON_OBJ     :=
HELPER_STATIC ?= 0
else
$(error CJSON must be 'bundled' or 'system', not '$(CJSON)')
endif

# The helper's token path must stay tiny: libc and cJSON, nothing with GLib,
# libsecret or libcurl in its link line.  Static-pie by default: exec is most
# of what it costs, and the dynamic loader is a third of exec (make bench).
# Sanitizer builds (make asan) and CJSON=system link it dynamically.
ifeq ($(HELPER_STATIC),1)
ifneq ($(CJSON),bundled)
$(error HELPER_STATIC=1 needs CJSON=bundled: Debian has no static libcjson)
endif
HELPER_LDFLAGS = $(filter-out -pie,$(MM_LDFLAGS)) -static-pie
else
HELPER_LDFLAGS = $(MM_LDFLAGS)
endif

.DEFAULT_GOAL := all

# Switching CJSON or HELPER_STATIC in one build directory rebuilds everything.
CONFIG_STAMP := $(BUILD)/.config-cjson-$(CJSON)-static-$(HELPER_STATIC)
$(CONFIG_STAMP):
	@mkdir -p $(BUILD) && rm -f $(BUILD)/.config-* && touch $@

# common/:  libc + cJSON only, linked into every binary (the helper too).
# runtime/: the event loop, HTTP client (libcurl), guarded memory and
#           logging of the long-running binaries (agent, proxy).
COMMON_SRC  := $(wildcard common/*.c)
RUNTIME_SRC := $(wildcard runtime/*.c)
AGENT_SRC   := $(wildcard agent/*.c)
HELPER_SRC  := $(wildcard helper/*.c)
PROXY_SRC   := $(wildcard proxy/*.c)

COMMON_OBJ  := $(COMMON_SRC:%.c=$(BUILD)/%.o)
RUNTIME_OBJ := $(RUNTIME_SRC:%.c=$(BUILD)/%.o)
AGENT_OBJ   := $(AGENT_SRC:%.c=$(BUILD)/%.o)
HELPER_OBJ  := $(HELPER_SRC:%.c=$(BUILD)/%.o)
PROXY_OBJ   := $(PROXY_SRC:%.c=$(BUILD)/%.o)
RUNTIME_PKGS := libcurl libsodium

BINS := $(BUILD)/mimir-agent $(BUILD)/mimir-helper $(BUILD)/mimir-proxy

.PHONY: all deps check check-unit check-integration check-extension vsix demo bench asan install clean \
        completions deb

all: $(BINS)

$(BUILD)/third_party/cjson/cJSON.o: third_party/cjson/cJSON.c third_party/cjson/cjson/cJSON.h $(CONFIG_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) -Ithird_party/cjson/cjson -c -o $@ $<

$(BUILD)/common/%.o: common/%.c $(wildcard include/mimir/*.h) $(CONFIG_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) $(CJSON_CFLAGS) -c -o $@ $<

$(BUILD)/runtime/%.o: runtime/%.c $(wildcard runtime/*.h include/mimir/*.h) $(CONFIG_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) $(CJSON_CFLAGS) $(call pkg_cflags,$(RUNTIME_PKGS)) -c -o $@ $<

$(BUILD)/agent/%.o: agent/%.c $(wildcard agent/*.h runtime/*.h include/mimir/*.h) $(CONFIG_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) -Iruntime $(CJSON_CFLAGS) $(call pkg_cflags,$(AGENT_PKGS)) -c -o $@ $<

$(BUILD)/helper/%.o: helper/%.c $(wildcard helper/*.h include/mimir/*.h) $(CONFIG_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) $(CJSON_CFLAGS) -c -o $@ $<

$(BUILD)/libmimir.a: $(COMMON_OBJ) $(CJSON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libmimir-runtime.a: $(RUNTIME_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# The agent's objects but main.o, for unit tests of agent code: a test links
# what it uses and nothing else.
$(BUILD)/libmimir-agent.a: $(filter-out $(BUILD)/agent/main.o,$(AGENT_OBJ))
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/mimir-agent: $(AGENT_OBJ) $(BUILD)/libmimir-runtime.a $(BUILD)/libmimir.a
	$(CC) $(MM_CFLAGS) $(MM_LDFLAGS) -o $@ $^ $(call pkg_libs,$(AGENT_PKGS)) $(CJSON_LIBS) \
	    -lpthread

# The MCP proxy (`mimir-helper proxy` execs it): runtime/ + libcurl, so that
# the helper's token path stays libc + cJSON (docs/architecture.md).
$(BUILD)/proxy/%.o: proxy/%.c $(wildcard proxy/*.h runtime/*.h include/mimir/*.h) $(CONFIG_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) -Iruntime $(CJSON_CFLAGS) $(call pkg_cflags,$(RUNTIME_PKGS)) -c -o $@ $<

$(BUILD)/mimir-proxy: $(PROXY_OBJ) $(BUILD)/libmimir-runtime.a $(BUILD)/libmimir.a
	$(CC) $(MM_CFLAGS) $(MM_LDFLAGS) -o $@ $^ $(call pkg_libs,$(RUNTIME_PKGS)) $(CJSON_LIBS)

$(BUILD)/mimir-helper: $(HELPER_OBJ) $(BUILD)/libmimir.a
	$(CC) $(MM_CFLAGS) $(HELPER_LDFLAGS) -o $@ $^ $(CJSON_LIBS)

# ---- tests -------------------------------------------------------------

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmimir.a
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) $(CJSON_CFLAGS) $(call pkg_cflags,cmocka) $(MM_LDFLAGS) -o $@ $^ \
	    $(call pkg_libs,cmocka) $(CJSON_LIBS)

# Unit tests of agent code (any tests/unit/agent/test_*.c, no Makefile edit
# needed): linked against the agent's objects as an archive, so each test
# pulls in only the objects it uses.
AGENT_UNIT_SRC := $(wildcard tests/unit/agent/test_*.c)
UNIT_BIN += $(AGENT_UNIT_SRC:tests/unit/agent/%.c=$(BUILD)/tests/agent/%)

$(BUILD)/tests/agent/%: tests/unit/agent/%.c $(BUILD)/libmimir-agent.a \
                        $(BUILD)/libmimir-runtime.a $(BUILD)/libmimir.a
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) -Iagent -Iruntime $(CJSON_CFLAGS) \
	    $(call pkg_cflags,cmocka $(AGENT_PKGS)) $(MM_LDFLAGS) -o $@ $< \
	    $(BUILD)/libmimir-agent.a $(BUILD)/libmimir-runtime.a $(BUILD)/libmimir.a \
	    $(call pkg_libs,cmocka $(AGENT_PKGS)) $(CJSON_LIBS) -lpthread

$(BUILD)/tests/loadclient: tests/bench/loadclient.c $(BUILD)/libmimir.a
	@mkdir -p $(dir $@)
	$(CC) $(MM_CFLAGS) $(CJSON_CFLAGS) $(MM_LDFLAGS) -o $@ $^ $(CJSON_LIBS) -lpthread

# libFuzzer harnesses: make fuzz, check-fuzz (tests/fuzz/fuzz.mk).
include tests/fuzz/fuzz.mk

deps:
	@tests/deps.sh

# The real VS Code (code-server, a few minutes to install cold) installs in
# the background while the C suites run; the extension suite waits for it.
check: deps
	@mkdir -p $(BUILD); \
	bash extension-bridge/test/vscode/install.sh >$(BUILD)/vscode-install.log 2>&1 & inst=$$!; \
	$(MAKE) --no-print-directory check-unit check-fuzz check-integration; rc=$$?; \
	if ! wait $$inst; then cat $(BUILD)/vscode-install.log; exit 1; fi; \
	[ $$rc = 0 ] || exit $$rc; \
	$(MAKE) --no-print-directory check-extension

check-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

check-integration: $(BINS) $(BUILD)/tests/loadclient
	@tests/run-integration.sh $(BUILD)

# The VS Code extension: its socket client against the real agent, then the
# packaged extension inside a real VS Code (code-server; logs and screenshots
# in $(BUILD)/test-logs/vscode).
check-extension: $(BINS)
	@MM_BUILD=$(abspath $(BUILD)) bash extension-bridge/test/run.sh

# The VS Code extension's package: extension-bridge/mimir-bridge-<version>.vsix.
vsix:
	@cd extension-bridge && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run --silent package

demo: deps
	@$(MAKE) --no-print-directory all
	@tests/demo.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/tests/loadclient
	@tests/bench/bench.sh $(BUILD)
	@tests/bench/proxy.sh $(BUILD)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan HELPER_STATIC=0 \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" check-unit check-integration

# Shell completions, printed by the built helper from its own command and
# option tables (mimir-helper completion bash|zsh|fish).
COMPLETIONS := $(BUILD)/completions/mimir-helper.bash $(BUILD)/completions/_mimir-helper \
               $(BUILD)/completions/mimir-helper.fish

completions: $(COMPLETIONS)

$(BUILD)/completions/mimir-helper.bash: $(BUILD)/mimir-helper
	@mkdir -p $(dir $@)
	$< completion bash > $@.tmp && mv $@.tmp $@

$(BUILD)/completions/_mimir-helper: $(BUILD)/mimir-helper
	@mkdir -p $(dir $@)
	$< completion zsh > $@.tmp && mv $@.tmp $@

$(BUILD)/completions/mimir-helper.fish: $(BUILD)/mimir-helper
	@mkdir -p $(dir $@)
	$< completion fish > $@.tmp && mv $@.tmp $@

# Where `make install` puts things (the Debian package sets the zsh and doc
# directories to Debian's).
BINDIR        ?= $(PREFIX)/bin
USERUNITDIR   ?= $(PREFIX)/lib/systemd/user
MANDIR        ?= $(PREFIX)/share/man
BASHCOMPDIR   ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR    ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR   ?= $(PREFIX)/share/fish/vendor_completions.d
DOCDIR        ?= $(PREFIX)/share/doc/mimir

install: $(BINS) $(COMPLETIONS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(USERUNITDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR) \
	    $(DESTDIR)$(DOCDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	sed 's|@BINDIR@|$(BINDIR)|g' packaging/systemd/mimir-agent.service.in \
	    > $(DESTDIR)$(USERUNITDIR)/mimir-agent.service
	chmod 0644 $(DESTDIR)$(USERUNITDIR)/mimir-agent.service
	install -m 0644 packaging/systemd/mimir-agent.socket $(DESTDIR)$(USERUNITDIR)/
	install -m 0644 packaging/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(BUILD)/completions/mimir-helper.bash $(DESTDIR)$(BASHCOMPDIR)/mimir-helper
	install -m 0644 $(BUILD)/completions/_mimir-helper $(DESTDIR)$(ZSHCOMPDIR)/_mimir-helper
	install -m 0644 $(BUILD)/completions/mimir-helper.fish $(DESTDIR)$(FISHCOMPDIR)/mimir-helper.fish
	install -m 0644 README.md docs/protocol.md docs/architecture.md $(DESTDIR)$(DOCDIR)/

# The Debian package (packaging/debian, dpkg-buildpackage + debhelper) from
# the files of this checkout, built in $(BUILD)/deb/: $(BUILD)/deb/*.deb,
# checked with lintian (errors fail).
deb:
	@packaging/build-deb.sh $(BUILD)/deb

clean:
	rm -rf build build-asan
