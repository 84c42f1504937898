# newsgate - a small NNTP news gateway.
#
#   make              build build/newsgate
#   make run          install missing build deps (as root), build, import
#                     contrib/sample/ into ./spool, serve 127.0.0.1:1119
#   make check        every test (Check unit + end-to-end)
#   make check-asan   the same under AddressSanitizer + UBSan (build-asan/)
#   make fuzz         libFuzzer targets, FUZZ_SECONDS each (build-fuzz/)
#   make install      PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BUILD ?= build

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS = libetpan openssl jansson

# libetpan's .pc file names dpkg-dev's spec files, which a machine without
# dpkg-dev lacks: drop every -specs= flag.
PKG_CFLAGS := $(filter-out -specs=%,$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null))
PKG_LIBS := $(filter-out -specs=%,$(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null))
CHECK_CFLAGS := $(filter-out -specs=%,$(shell $(PKG_CONFIG) --cflags check 2>/dev/null))
CHECK_LIBS := $(filter-out -specs=%,$(shell $(PKG_CONFIG) --libs check 2>/dev/null))

WARN = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wcast-qual \
	-Wstrict-prototypes -Wmissing-prototypes -Wwrite-strings \
	-Wformat=2 -Wvla -Wundef -Wno-unused-parameter -Wimplicit-fallthrough
OPT ?= -O2 -g
SAN ?=
CFLAGS_ALL = -std=c17 -D_GNU_SOURCE $(OPT) $(SAN) $(WARN) -Iinclude \
	$(PKG_CFLAGS) $(CFLAGS)
# jemalloc (as Redis links it): the import hands every article from the
# reader thread to the threading worker to the writer, which frees what the
# reader allocated; glibc's malloc spends about 1.5 CPU-seconds of a
# 142,000-article import on that (docs/performance.md). Left out under the
# sanitizers, which bring their own allocator, and when not installed.
MALLOC_LIBS := $(if $(SAN),,$(shell $(PKG_CONFIG) --libs jemalloc 2>/dev/null))
LDLIBS_ALL = $(SAN) $(PKG_LIBS) -lstemmer -lcrypt -lm $(MALLOC_LIBS) \
	$(LDFLAGS) $(LDLIBS)

SRCS := $(sort $(wildcard src/*.c))
LIB_OBJS := $(patsubst src/%.c,$(BUILD)/%.o,$(filter-out src/main.c,$(SRCS)))
UNIT_SRCS := $(sort $(wildcard tests/unit/check_*.c))
E2E_SRCS := $(sort $(wildcard tests/e2e/check_*.c))
TLIB_SRCS := $(sort $(wildcard tests/lib/*.c))
TLIB_OBJS := $(patsubst tests/lib/%.c,$(BUILD)/tests/lib/%.o,$(TLIB_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
E2E_BINS := $(patsubst tests/e2e/%.c,$(BUILD)/tests/%,$(E2E_SRCS))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/replay_%,$(FUZZ_SRCS))

.PHONY: all run check check-asan check-clients check-unit check-e2e install clean dev \
	deps format format-check lint analyze bench eval-threads fuzz

all: $(BUILD)/newsgate

$(BUILD)/newsgate: $(BUILD)/main.o $(BUILD)/libnewsgate.a
	$(CC) -o $@ $^ $(LDLIBS_ALL)

# Tests link the archive, so each pulls in only the modules it uses.
$(BUILD)/libnewsgate.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: src/%.c $(wildcard include/*.h) | $(BUILD)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/tests/lib/%.o: tests/lib/%.c $(wildcard include/*.h tests/lib/*.h) | $(BUILD)/tests/lib
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -Itests/lib -c -o $@ $<

$(BUILD)/tests/check_%: tests/unit/check_%.c $(TLIB_OBJS) $(BUILD)/libnewsgate.a | $(BUILD)/tests
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -Itests/lib -o $@ $^ $(CHECK_LIBS) $(LDLIBS_ALL)

$(BUILD)/tests/check_%: tests/e2e/check_%.c $(TLIB_OBJS) $(BUILD)/libnewsgate.a | $(BUILD)/tests
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -Itests/lib -o $@ $^ $(CHECK_LIBS) $(LDLIBS_ALL)

$(BUILD)/tests/replay_%: tests/fuzz/%.c tests/fuzz/replay.c $(BUILD)/libnewsgate.a | $(BUILD)/tests
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD) $(BUILD)/tests $(BUILD)/tests/lib:
	mkdir -p $@

# The tests: unit suites, then end-to-end suites against the real binary,
# then the saved fuzz corpora. tests/run-tests.sh prints each suite's Check
# summary and a total.
check: $(BUILD)/newsgate $(UNIT_BINS) $(E2E_BINS) $(FUZZ_REPLAY)
	NEWSGATE_BIN=$(CURDIR)/$(BUILD)/newsgate NEWSGATE_TOP=$(CURDIR) \
	    sh tests/run-tests.sh $(UNIT_BINS) $(E2E_BINS) -- $(FUZZ_REPLAY)

# The real newsreaders (slrn, tin under tmux) and the recorded client
# traces; also part of check.
CLIENT_BINS := $(filter %/check_clients %/check_traces %/check_slrn_spool \
	%/check_offline %/check_threads_view,$(E2E_BINS))
check-clients: $(BUILD)/newsgate $(CLIENT_BINS)
	NEWSGATE_BIN=$(CURDIR)/$(BUILD)/newsgate NEWSGATE_TOP=$(CURDIR) \
	    sh tests/run-tests.sh $(CLIENT_BINS) --

check-asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" check

# libFuzzer (clang): every tests/fuzz/fuzz_*.c, linked against the src
# objects (not main.c) built with coverage, ASan and UBSan in FUZZ_BUILD,
# runs FUZZ_SECONDS on its saved corpus, one target at a time. New
# interesting inputs go to FUZZ_BUILD/corpus/NAME (never committed by
# this: minimise the ones worth keeping into tests/fuzz/corpus/NAME/),
# crashes to FUZZ_BUILD/crashes/. FUZZ_TARGETS="overview wildmat" runs
# only those; FUZZ_FLAGS adds libFuzzer options (FUZZ_CLOSE_FD=0 keeps
# the targets' own stderr, which the spool's warnings flood).
FUZZ_CC ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CLOSE_FD ?= 2
FUZZ_FLAGS ?=
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = -std=c17 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer \
	$(FUZZ_SAN) $(filter-out -Werror,$(WARN)) -Iinclude $(PKG_CFLAGS)
FUZZ_OBJS := $(patsubst src/%.c,$(FUZZ_BUILD)/obj/%.o,$(filter-out src/main.c,$(SRCS)))
# Longest input per target (-max_len); others get FUZZ_MAXLEN.
FUZZ_MAXLEN ?= 4096
FUZZ_MAXLEN_article = 65536
FUZZ_MAXLEN_command = 8192
FUZZ_MAXLEN_overview = 16384
FUZZ_MAXLEN_active = 8192
FUZZ_MAXLEN_config = 8192
FUZZ_MAXLEN_wildmat = 1024
FUZZ_MAXLEN_jsonl = 16384

$(FUZZ_BUILD)/obj/%.o: src/%.c $(wildcard include/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/obj/libnewsgate.a: $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/obj/libnewsgate.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ \
	    $(PKG_LIBS) -lstemmer -lcrypt -lm

fuzz: $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_TARGETS))
	@failed=; for tm in $(foreach t,$(FUZZ_TARGETS),$(t):$(or $(FUZZ_MAXLEN_$(t)),$(FUZZ_MAXLEN))); do \
	    t=$${tm%%:*}; m=$${tm#*:}; log=$(FUZZ_BUILD)/fuzz_$$t.log; \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/crashes; \
	    echo "fuzz_$$t: $(FUZZ_SECONDS) s, -max_len=$$m, log in $$log"; \
	    ./$(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	        -max_len=$$m -timeout=20 -rss_limit_mb=2048 \
	        -close_fd_mask=$(FUZZ_CLOSE_FD) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t- $(FUZZ_FLAGS) \
	        $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t >$$log 2>&1; \
	    if [ $$? = 0 ]; then \
	        grep -E '^(Done |stat::number_of_executed_units|stat::peak_rss)' $$log; \
	        echo "fuzz_$$t: clean; $$(ls $(FUZZ_BUILD)/corpus/$$t | wc -l) inputs in $(FUZZ_BUILD)/corpus/$$t"; \
	    else \
	        tail -60 $$log; failed="$$failed $$t"; \
	    fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: crashes in:$$failed (reproducers in $(FUZZ_BUILD)/crashes/)"; exit 1; fi

dev: all

deps:
	sh contrib/scripts/deps.sh

# Build, import the sample articles, serve them on 127.0.0.1:1119.
# A self-signed certificate for localhost (kept once made) gives STARTTLS on
# 1119 and implicit TLS on 127.0.0.1:1563; started as root, the server then
# runs as news and the spool becomes news's (docs/security.md).
run:
	sh contrib/scripts/deps.sh
	$(MAKE) all
	./$(BUILD)/newsgate import --spool ./spool contrib/sample/ || true
	./$(BUILD)/newsgate groups --spool ./spool list
	sh contrib/scripts/mkcert.sh spool/.newsgate/tls
	exec ./$(BUILD)/newsgate serve --spool ./spool \
	    --tls-cert spool/.newsgate/tls/cert.pem \
	    --tls-key spool/.newsgate/tls/key.pem

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(BUILD)/newsgate $(DESTDIR)$(BINDIR)/newsgate
	install -m 0644 docs/newsgate.1 $(DESTDIR)$(MANDIR)/man1/newsgate.1
	install -m 0644 docs/newsgate.conf.5 $(DESTDIR)$(MANDIR)/man5/newsgate.conf.5

format:
	clang-format -i src/*.c include/*.h

format-check:
	clang-format --dry-run -Werror src/*.c include/*.h

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    --inline-suppr -Iinclude -D_GNU_SOURCE src

analyze:
	$(MAKE) BUILD=build-analyze OPT="-O1 -fanalyzer" all

bench: all
	sh tests/bench/run.sh

# Threading quality: import each labeled corpus, score its threads
# (B-cubed P/R/F1 against the gold stories; docs/threading.md).
eval-threads: all
	NEWSGATE_BIN=$(CURDIR)/$(BUILD)/newsgate sh tests/bench/eval-threads.sh

clean:
	rm -rf build build-asan build-analyze
