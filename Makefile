# rill: live-streaming origin/edge server.
#   make          release build (objs/rill, -O2) and the ASan+UBSan test build
#   make run      install deps, build, start the cluster on loopback (scripts/cluster.sh;
#                 Ctrl-C stops it); make run DEMO=1 also publishes a test stream
#   make test     install deps, build, run unit, layering and integration tests
#   make layering check that includes point one way (scripts/layering.py)
#   make chaos    a seeded chaos run over a master, a slave and an edge (ASan build;
#                 CHAOS_SECONDS=60, CHAOS_SEED to replay, CHAOS_ROUND=300 seconds per seed)
#   make html     the player page in objs/nginx/html/players (mpegts.js via npm; part of make)
SHELL := /bin/bash
# One line per file; `make V=1` shows the commands. Builds run in parallel.
ifeq ($(V),1)
Q :=
else
Q := @
endif
NPROC       := $(shell nproc 2>/dev/null || echo 2)

CC      ?= cc
CXX     ?= g++
SRC     := trunk/src
OBJS    := objs

# app/ is in wings by role (doc/architecture.md "Layout"); every wing is on
# the include path, so a header is named by its basename.
APP_WINGS   := $(sort $(patsubst $(SRC)/app/%/,%,$(dir $(wildcard $(SRC)/app/*/*.[ch]))))
ALL_C       := $(wildcard $(SRC)/core/*.c $(SRC)/protocol/*.c $(SRC)/app/*/*.c)
MAIN_C      := $(wildcard $(SRC)/main/*.c)
INCLUDES    := -I$(SRC)/core -I$(SRC)/protocol $(patsubst %,-I$(SRC)/app/%,$(APP_WINGS)) -I$(SRC)/main
WARN        := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wpointer-arith
# HLS segments: libavformat's mpegts muxer (Debian libavformat-dev); host
# names: c-ares (Debian libc-ares-dev)
LIBS        := -lst -lssl -lcrypto -lhttp_parser -lcjson -lavformat -lavcodec -lavutil -lcares -luring -lm
VERSION     := $(shell cat VERSION 2>/dev/null || echo 0.1.0)
DEFS        := -D_GNU_SOURCE -DRILL_VERSION='"$(VERSION)"'

REL_CFLAGS  := -O2 -g $(WARN) $(DEFS) $(INCLUDES) -std=gnu11 -MMD -MP
SAN         := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_CFLAGS := -O1 -g $(WARN) $(DEFS) $(INCLUDES) -std=gnu11 $(SAN) -MMD -MP -DRILL_ASAN=1

REL_OBJS    := $(patsubst $(SRC)/%.c,$(OBJS)/release/%.o,$(ALL_C))
REL_MAIN    := $(patsubst $(SRC)/%.c,$(OBJS)/release/%.o,$(MAIN_C))
ASAN_OBJS   := $(patsubst $(SRC)/%.c,$(OBJS)/asan/%.o,$(ALL_C))
ASAN_MAIN   := $(patsubst $(SRC)/%.c,$(OBJS)/asan/%.o,$(MAIN_C))

UNIT_CPP    := $(wildcard tests/unit/*.cpp)
UNIT_OBJS   := $(patsubst tests/unit/%.cpp,$(OBJS)/asan/unit/%.o,$(UNIT_CPP))
UNIT_CXXFLAGS := -O1 -g -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers $(DEFS) $(INCLUDES) -Iresearch/bench -std=gnu++17 $(SAN) -MMD -MP

# rill-bench (research/bench), the load tool: its own files plus
# objs/release/librill-net.a (core, protocol and the app/net wing: sockets,
# tasks, the RTMP session and client, the HTTP client; the linker takes what
# the bench uses). -Wl,--wrap=net_connect_tcp routes rtmp_dial's connects
# through the bench's (source addresses, --src-ips).
# Its pure files (options, URLs, percentiles, FLV scanning, JSON) are also
# linked into the unit tests. rill-floor (research/floor): the raw-write floor.
# uring-send (research/uring-send): send() against io_uring batches, per send.
BENCH_C       := $(wildcard research/bench/*.c)
BENCH_PURE_C  := $(addprefix research/bench/,bench_opts.c bench_stats.c bench_lat.c bench_flvscan.c bench_flvfile.c bench_report.c)
BENCH_OBJS    := $(patsubst research/%.c,$(OBJS)/release/research/%.o,$(BENCH_C))
NET_LIB       := $(OBJS)/release/librill-net.a
NET_LIB_OBJS  := $(patsubst $(SRC)/%.c,$(OBJS)/release/%.o,$(wildcard $(SRC)/core/*.c $(SRC)/protocol/*.c $(SRC)/app/net/*.c))
BENCH_PURE_ASAN := $(patsubst research/%.c,$(OBJS)/asan/research/%.o,$(BENCH_PURE_C))

.PHONY: all build deps html run test unit integration layering chaos clean

all: build html

deps:
	@bash scripts/install-deps.sh

# The player page (trunk/html/players) into the default http_server dir
# objs/nginx/html, with mpegts.js and playwright-core from npm (pinned by
# trunk/html/package-lock.json) in objs/npm. Without npm: a warning, rill
# still builds; make test requires it (the browser test).
html:
	@bash scripts/install-html.sh

build: $(OBJS)/rill $(OBJS)/asan/rill $(OBJS)/asan/unit-tests $(OBJS)/rill-bench $(OBJS)/rill-floor $(OBJS)/uring-send

$(OBJS)/rill: $(REL_OBJS) $(REL_MAIN)
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $^ $(LIBS)

$(OBJS)/asan/rill: $(ASAN_OBJS) $(ASAN_MAIN)
	@echo "  LINK    $@"
	$(Q)$(CC) $(SAN) -o $@ $^ $(LIBS)

$(OBJS)/asan/unit-tests: $(UNIT_OBJS) $(ASAN_OBJS) $(BENCH_PURE_ASAN)
	@echo "  LINK    $@"
	$(Q)$(CXX) $(SAN) -o $@ $^ -lgtest -lgtest_main -lpthread $(LIBS)

$(NET_LIB): $(NET_LIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(OBJS)/rill-bench: $(BENCH_OBJS) $(NET_LIB)
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $(BENCH_OBJS) $(NET_LIB) -Wl,--wrap=net_connect_tcp $(LIBS)

$(OBJS)/rill-floor: $(OBJS)/release/research/floor/floor.o
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $^

$(OBJS)/uring-send: $(OBJS)/release/research/uring-send/uring_send.o
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $^ -luring

$(OBJS)/release/research/%.o: research/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(REL_CFLAGS) -Iresearch/bench -c -o $@ $<

$(OBJS)/asan/research/%.o: research/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ASAN_CFLAGS) -Iresearch/bench -c -o $@ $<

$(OBJS)/release/%.o: $(SRC)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(REL_CFLAGS) -c -o $@ $<

$(OBJS)/asan/%.o: $(SRC)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ASAN_CFLAGS) -c -o $@ $<

$(OBJS)/asan/unit/%.o: tests/unit/%.cpp
	@mkdir -p $(dir $@)
	@echo "  CXX     $@"
	$(Q)$(CXX) $(UNIT_CXXFLAGS) -c -o $@ $<

run: deps
	@$(MAKE) --no-print-directory -j$(NPROC) $(OBJS)/rill
	@bash scripts/install-html.sh
	@bash scripts/cluster.sh run $(if $(DEMO),--demo)

test: deps
	@$(MAKE) --no-print-directory -j$(NPROC) build
	@bash scripts/install-html.sh --require
	@bash tests/run-all.sh

unit: $(OBJS)/asan/unit-tests
	ASAN_OPTIONS=malloc_context_size=4 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp $(OBJS)/asan/unit-tests

integration: $(OBJS)/asan/rill $(OBJS)/rill
	python3 tests/integration/run.py

# Includes point one way (doc/architecture.md "Layout"): fails naming file:line
# on an include that goes up a layer or sideways, or closes a circle. make test
# runs it through tests/layering/test_layering.py.
layering:
	python3 scripts/layering.py

# CHAOS_SEED, CHAOS_SECONDS and CHAOS_ROUND reach the driver through the environment
chaos: $(OBJS)/asan/rill
	python3 tests/chaos/chaos.py

clean:
	rm -rf $(OBJS)

# ---- fuzzing: libFuzzer targets over the parsers (Debian clang), see tests/fuzz/README.md
#   make fuzz                     build objs/fuzz/fuzz_<target>
#   make fuzz-check               run each for FUZZ_SECONDS on a copy of its corpus; fails on a finding
#   make fuzz-seeds               rewrite the generated seeds in tests/fuzz/corpus/
FUZZ_CC      := clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -g -O1 $(WARN) $(DEFS) $(INCLUDES) -std=gnu11 -MMD -MP
FUZZ_TARGETS := handshake chunk amf0 flv http http_url rtmp_url config
FUZZ_CORE    := core/rill_bytes core/rill_error core/rill_payload core/rill_budget
FUZZ_SRC_handshake := protocol/rtmp_handshake
FUZZ_SRC_chunk     := protocol/rtmp_chunk protocol/rtmp_cmd protocol/amf0 protocol/flv protocol/rtmp_url
FUZZ_SRC_amf0      := protocol/amf0 protocol/rtmp_cmd
FUZZ_SRC_flv       := protocol/flv
FUZZ_SRC_http      := protocol/http_request protocol/http_url protocol/http_auth protocol/http_mount protocol/http_realip
FUZZ_SRC_http_url  := protocol/http_url protocol/http_auth protocol/http_mime protocol/http_mount
FUZZ_SRC_rtmp_url  := protocol/rtmp_url
# the config model may use any core or pure protocol helper (mounts, URLs): link them all
FUZZ_SRC_config    := app/conf/config $(patsubst $(SRC)/%.c,%,$(wildcard $(SRC)/core/*.c $(SRC)/protocol/*.c))
FUZZ_LIBS_handshake := -lcrypto
FUZZ_LIBS_http     := -lhttp_parser -lcrypto
FUZZ_LIBS_http_url := -lhttp_parser -lcrypto
FUZZ_LIBS_config   := -lst -lhttp_parser -lssl -lcrypto
FUZZ_SEED_SRC := amf0 rtmp_cmd rtmp_chunk rtmp_handshake flv
FUZZ_OBJ      = $(patsubst %,$(OBJS)/fuzz/obj/src/%.o,$(FUZZ_CORE) $(1))

.PHONY: fuzz fuzz-check fuzz-seeds
fuzz: $(patsubst %,$(OBJS)/fuzz/fuzz_%,$(FUZZ_TARGETS))

fuzz-check: fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/check.sh $(FUZZ_TARGETS)

fuzz-seeds: $(OBJS)/fuzz/make-seeds
	$(OBJS)/fuzz/make-seeds tests/fuzz/corpus $(filter-out %/rill_encoder.bin,$(wildcard tests/fuzz/corpus/chunk/*.bin))

$(OBJS)/fuzz/obj/src/%.o: $(SRC)/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

$(OBJS)/fuzz/obj/%.o: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

define FUZZ_RULE
$(OBJS)/fuzz/fuzz_$(1): $(OBJS)/fuzz/obj/fuzz_$(1).o $(call FUZZ_OBJ,$(FUZZ_SRC_$(1)))
	$$(FUZZ_CC) $$(FUZZ_SAN) -fsanitize=fuzzer -o $$@ $$^ $(FUZZ_LIBS_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

$(OBJS)/fuzz/make-seeds: $(OBJS)/fuzz/obj/make_seeds.o $(call FUZZ_OBJ,$(patsubst %,protocol/%,$(FUZZ_SEED_SRC)))
	$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ -lcrypto

-include $(shell find $(OBJS) -name '*.d' 2>/dev/null)
