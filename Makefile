# nnc — build, test and demo.  `make` builds ./nnc; see README.md.
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# Open MPI's header (runtime/parallel.c; its library is opened at run time)
MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null || pkg-config --cflags ompi-c 2>/dev/null)
CPPFLAGS := -D_POSIX_C_SOURCE=200809L -Icompiler -Igrammar -Ibuild -Iruntime $(MPI_CFLAGS)
LDLIBS  := -ltcc -ledit -ldl -lz -lm

SRCS := compiler/main.c compiler/arena.c compiler/source.c compiler/diag.c \
        compiler/ast.c compiler/check.c compiler/lower.c compiler/plan.c compiler/quantize.c compiler/ir_print.c \
        compiler/emit_c.c compiler/emit_header.c compiler/emit_common.c compiler/emit_dense.c compiler/emit_conv.c \
        compiler/emit_pool.c compiler/emit_dropout.c compiler/emit_recurrent.c compiler/emit_embed.c \
        compiler/emit_matmul.c compiler/emit_loss.c compiler/emit_gan.c compiler/emit_optim.c compiler/emit_int8.c \
        compiler/output.c compiler/pipeline.c compiler/jit.c compiler/cmd_train.c compiler/cmd_generate.c compiler/cmd_cache.c \
        compiler/repl.c compiler/emit_dot.c
GEN  := build/parser.c build/lexer.c
OBJS := $(SRCS:compiler/%.c=build/%.o) build/parser.o build/lexer.o

# The runtime: a static library with one public header, runtime/nnc_rt.h.
RT_SRCS := runtime/buf.c runtime/rng.c runtime/data.c runtime/atomic.c runtime/checkpoint.c runtime/resume.c runtime/train.c runtime/report.c \
           runtime/parallel.c
RT_OBJS := $(RT_SRCS:runtime/%.c=build/rt/%.o)
RT_LIB  := build/libnncrt.a

all: nnc

nnc: $(OBJS) $(RT_LIB)
	$(CC) $(CFLAGS) -o $@ $(OBJS) $(RT_LIB) $(LDLIBS)

$(RT_LIB): $(RT_OBJS)
	rm -f $@ && ar rcs $@ $(RT_OBJS)

build/rt/%.o: runtime/%.c runtime/nnc_rt.h runtime/rt_internal.h runtime/rt_shared.h | build/.dir
	@mkdir -p build/rt
	$(CC) -D_POSIX_C_SOURCE=200809L -Iruntime $(MPI_CFLAGS) $(WARN) $(CFLAGS) -MMD -MP -c -o $@ $<

build/parser.c build/parser.h &: grammar/parser.y | build/.dir
	bison -Wall -Werror --header=build/parser.h -o build/parser.c grammar/parser.y

build/lexer.c build/lexer.h &: grammar/lexer.l | build/.dir
	flex --header-file=build/lexer.h -o build/lexer.c grammar/lexer.l

build/%.o: compiler/%.c | build/.dir
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -MMD -MP -c -o $@ $<

# Generated code is not ours to keep warning-free in every detail (flex's
# skeleton has unused functions), so it builds without -Wpedantic extras.
build/parser.o: build/parser.c build/lexer.h
	$(CC) $(CPPFLAGS) -std=c99 -Wall $(CFLAGS) -MMD -MP -c -o $@ $<
build/lexer.o: build/lexer.c build/parser.h
	$(CC) $(CPPFLAGS) -std=c99 -Wall -Wno-unused-function $(CFLAGS) -MMD -MP -c -o $@ $<

$(OBJS): build/parser.h

build/.dir:
	mkdir -p build && touch $@

clean:
	rm -rf build nnc examples/mcu/build

.PHONY: all clean
-include $(wildcard build/*.d build/rt/*.d)

# ---- sanitizer build of the compiler, for the test suite ----
SAN := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
build/asan/nnc: $(SRCS) $(GEN) $(RT_SRCS) compiler/nnc.h compiler/emit.h compiler/ops.def grammar/parse_ctx.h \
                runtime/nnc_rt.h runtime/rt_shared.h runtime/rt_internal.h
	@mkdir -p build/asan
	$(CC) $(CPPFLAGS) -std=c99 $(SAN) -o $@ $(SRCS) $(GEN) $(RT_SRCS) $(LDLIBS)

# ---- the README's two commands ----
# Each demo: nnc emits C from examples/NAME.nn, the system compiler builds it
# with examples/NAME_demo.c, and the program trains with that code alone.
DEMOS := xor spiral sine
FM    := /usr/share/datasets/fashion-mnist
FM_DATA := --data $(FM)/train-images-idx3-ubyte.gz --test $(FM)/t10k-images-idx3-ubyte.gz
demo:
	@sh scripts/setup.sh demo
	@$(MAKE) --no-print-directory nnc
	@mkdir -p build/demo
	@for d in $(DEMOS); do \
	    echo "== examples/$$d.nn"; \
	    echo "./nnc examples/$$d.nn -o build/demo/$$d.c"; \
	    ./nnc examples/$$d.nn -o build/demo/$$d.c || exit 1; \
	    $(CC) -std=c99 -O2 -Wall -Wextra -Ibuild/demo -o build/demo/$${d}_demo \
	        examples/$${d}_demo.c build/demo/$$d.c -lm || exit 1; \
	    ./build/demo/$${d}_demo || exit 1; echo; \
	done
	@echo "== nnc train: the same XOR through the JIT, then one inference-only C file"
	./nnc train examples/xor.nn --data examples/xor.csv --save build/demo/xor.nnw
	./nnc examples/xor.nn --weights build/demo/xor.nnw -o build/demo/xor_trained.c
	@echo "build/demo/xor_trained.c: $$(grep -c . build/demo/xor_trained.c) lines, weights baked in"
	@echo
	@echo "== Fashion-MNIST with an MLP, 10 epochs (the CNN: make demo-cnn; the autoencoder: make demo-autoencoder)"
	./nnc train examples/fashion_mlp.nn --jit=cc $(FM_DATA) --save build/demo/fashion_mlp.nnw \
	    --plot build/demo/fashion_mlp.svg --pictures build/demo/fashion_mlp_wrong.pgm
	@echo
	@echo "== A character-level LSTM on Debian's fortunes: a few seconds on 640 windows of 64 bytes,"
	@echo "   then text from it (letters and spaces at this point; README has the whole training's)"
	@cat $$(ls /usr/share/games/fortunes/*.dat | sed 's/\.dat$$//') > build/demo/fortunes.txt
	./nnc train examples/charlm.nn --text build/demo/fortunes.txt --jit=cc --limit 640 --epochs 1 \
	    --save build/demo/charlm.nnw
	./nnc generate examples/charlm.nn --load build/demo/charlm.nnw --jit=cc --length 160 --prime "The "

demo-cnn:
	@sh scripts/setup.sh demo
	@$(MAKE) --no-print-directory nnc
	@mkdir -p build/demo
	./nnc train examples/fashion_cnn.nn --jit=cc $(FM_DATA) --save build/demo/fashion_cnn.nnw \
	    --plot build/demo/fashion_cnn.svg --pictures build/demo/fashion_cnn_wrong.pgm --confusion
	./nnc examples/fashion_cnn.nn --weights build/demo/fashion_cnn.nnw -o build/demo/fashion_cnn_trained.c

demo-autoencoder:
	@sh scripts/setup.sh demo
	@$(MAKE) --no-print-directory nnc
	@mkdir -p build/demo
	./nnc train examples/autoencoder.nn --target input --jit=cc $(FM_DATA) \
	    --plot build/demo/autoencoder.svg --pictures build/demo/autoencoder.pgm

test:
	@sh scripts/setup.sh test
	@$(MAKE) --no-print-directory nnc build/asan/nnc
	@sh tests/run.sh

# Regenerates the golden files; commit them with the change that caused them.
golden: nnc
	sh tests/golden/regen.sh $(NAME)
	sh tests/errors/regen.sh $(NAME)

.PHONY: demo demo-cnn demo-autoencoder test golden

# ---- install / uninstall ----
# `make install [PREFIX=/usr/local] [DESTDIR=]`: the compiler, the runtime
# library and its header, the man page and the docs.  The man page names
# /usr/local; it is installed with PREFIX put in its place.
PREFIX     ?= /usr/local
BINDIR     := $(PREFIX)/bin
LIBDIR     := $(PREFIX)/lib
INCLUDEDIR := $(PREFIX)/include
MAN1DIR    := $(PREFIX)/share/man/man1
DOCDIR     := $(PREFIX)/share/doc/nnc
DOC_FILES  := README.md LICENSE $(wildcard docs/*.md)

install: nnc $(RT_LIB) docs/nnc.1
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(MAN1DIR) $(DESTDIR)$(DOCDIR)
	install -m 755 nnc $(DESTDIR)$(BINDIR)/nnc
	install -m 644 $(RT_LIB) $(DESTDIR)$(LIBDIR)/libnncrt.a
	install -m 644 runtime/nnc_rt.h $(DESTDIR)$(INCLUDEDIR)/nnc_rt.h
	@mkdir -p build/man
	sed 's|/usr/local/|$(PREFIX)/|g' docs/nnc.1 > build/man/nnc.1
	install -m 644 build/man/nnc.1 $(DESTDIR)$(MAN1DIR)/nnc.1
	install -m 644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nnc $(DESTDIR)$(LIBDIR)/libnncrt.a \
	    $(DESTDIR)$(INCLUDEDIR)/nnc_rt.h $(DESTDIR)$(MAN1DIR)/nnc.1
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOC_FILES)))
	rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true

.PHONY: install uninstall

# ---- fuzzing (docs/robustness.md) ----
# `make fuzz` builds the libFuzzer targets of fuzz/ with clang (ASan, UBSan)
# and runs each for FUZZ_SECONDS (FUZZ_JOBS at a time); new inputs go to
# build/fuzz/corpus/TARGET, findings to build/fuzz/artifacts/TARGET.
# `make fuzz-build` only builds them; tests/fuzz/run.sh replays the
# committed corpora (fuzz/corpus/TARGET) in `make test`.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 2
FUZZ_TARGETS := frontend repl csv idx weights checkpoint text
FUZZ_SAN     := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_SRCS    := $(filter-out compiler/main.c,$(SRCS)) $(GEN) $(RT_SRCS)
FUZZ_OBJS    := $(FUZZ_SRCS:%.c=build/fuzz/obj/%.o)
FUZZ_BINS    := $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)

build/fuzz/obj/%.o: %.c build/parser.h build/lexer.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -std=c99 $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

# The REPL target bounds the JIT and training (see fuzz/fuzz_repl.c).
build/fuzz/fuzz_repl: FUZZ_LDFLAGS := -Wl,--wrap=jit_compile -Wl,--wrap=rt_train
build/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(FUZZ_OBJS)
	$(FUZZ_CC) $(CPPFLAGS) -std=c99 -Wall -Wextra $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) \
	    $(FUZZ_LDFLAGS) $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

# (the objects are not intermediate files to delete)
.SECONDARY: $(FUZZ_OBJS)

fuzz:
	@sh scripts/setup.sh test
	@$(MAKE) --no-print-directory -j$(FUZZ_JOBS) fuzz-build
	@sh fuzz/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

.PHONY: fuzz fuzz-build
-include $(wildcard build/fuzz/obj/*/*.d)

# ---- benchmarks (not part of `make test`): nnc against PyTorch and plain C ----
# `make bench` runs bench/run.py (about 10 minutes; see bench/README.md);
# `make bench BENCH_ARGS=--quick` is a smoke run of about 2 minutes.
bench:
	@sh scripts/setup.sh bench
	@$(MAKE) --no-print-directory nnc
	/usr/bin/python3 bench/run.py $(BENCH_ARGS)

.PHONY: bench
