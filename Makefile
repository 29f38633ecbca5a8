# rill: live-streaming origin/edge server.
#   make          release build (objs/rill, -O2) and the ASan+UBSan test build
#   make run      install deps, build, start the server on loopback
#   make test     install deps, build, run unit and integration tests
SHELL := /bin/bash

CC      ?= cc
CXX     ?= g++
SRC     := trunk/src
OBJS    := objs

ALL_C       := $(wildcard $(SRC)/core/*.c $(SRC)/protocol/*.c $(SRC)/app/*.c)
MAIN_C      := $(wildcard $(SRC)/main/*.c)
INCLUDES    := -I$(SRC)/core -I$(SRC)/protocol -I$(SRC)/app -I$(SRC)/main
WARN        := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wpointer-arith
LIBS        := -lst -lssl -lcrypto -lhttp_parser -lcjson -lm
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
UNIT_CXXFLAGS := -O1 -g -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers $(DEFS) $(INCLUDES) -std=gnu++17 $(SAN) -MMD -MP

.PHONY: all build deps run test unit integration clean

all: build

deps:
	@bash scripts/install-deps.sh

build: $(OBJS)/rill $(OBJS)/asan/rill $(OBJS)/asan/unit-tests

$(OBJS)/rill: $(REL_OBJS) $(REL_MAIN)
	$(CC) -o $@ $^ $(LIBS)

$(OBJS)/asan/rill: $(ASAN_OBJS) $(ASAN_MAIN)
	$(CC) $(SAN) -o $@ $^ $(LIBS)

$(OBJS)/asan/unit-tests: $(UNIT_OBJS) $(ASAN_OBJS)
	$(CXX) $(SAN) -o $@ $^ -lgtest -lgtest_main -lpthread $(LIBS)

$(OBJS)/release/%.o: $(SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -c -o $@ $<

$(OBJS)/asan/%.o: $(SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -c -o $@ $<

$(OBJS)/asan/unit/%.o: tests/unit/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(UNIT_CXXFLAGS) -c -o $@ $<

run: deps
	@$(MAKE) --no-print-directory $(OBJS)/rill
	@echo "rill: RTMP on rtmp://127.0.0.1:1935/live/<stream> (Ctrl-C stops)"
	$(OBJS)/rill -c conf/rill.conf

test: deps
	@$(MAKE) --no-print-directory build
	@bash tests/run-all.sh

unit: $(OBJS)/asan/unit-tests
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp $(OBJS)/asan/unit-tests

integration: $(OBJS)/asan/rill $(OBJS)/rill
	python3 tests/integration/run.py

clean:
	rm -rf $(OBJS)

-include $(shell find $(OBJS) -name '*.d' 2>/dev/null)
