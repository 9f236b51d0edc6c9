# qrep: a replicated network block device.
#
#   make deps        install what is needed from Debian's archive (root)
#   make             build qrep.ko (Debian 6.1 kernel) and the tools
#   make KVER=...    build qrep.ko against another installed kernel
#   make check       unit tests on the host, then every VM selftest
#   make check-quick a fast subset;  make check T=name  one test
#   make check-6.12  every selftest on Debian's 6.12 kernel
#   make debug-kernel  build the VMs' debug kernel (KASAN, KFENCE, UBSAN,
#                    lockdep, kmemleak) from Debian's linux-source-6.12,
#                    and qrep.ko for it (cached in build/debug-kernel)
#   make check-debug CHECK_DEBUG_TESTS (or T=name) on the debug kernel,
#                    2 vCPUs per VM
#   make demo        the guided tour, in a VM
#   make vm-shell    an interactive VM with the module and tools
#   make checkpatch  make sparse   kernel code checks
#   make docs        the documentation as HTML in build/docs (Sphinx)
#   make fuzz        fuzz the user-space parsers (FUZZ_SECONDS each, 60)
#   make sim-long    the election and data-plane simulations, a million seeds
#   make nemesis     NEMESIS_RUNS (10) seeded fault schedules against a
#                    3-VM cluster, and the figures (NEMESIS_SEED replays)
#   make bench       qrep against nbd, md raid1 and DRBD (BENCH_* settings)
#   make bench-smoke the same, briefly: proves the benchmark works
#
# Everything built lands in build/ (ignored by git).

KSERIES ?= 6.1
# Looked up when make starts; an empty KVER (from a parent make that ran
# before make deps installed the headers) is looked up again.
ifeq ($(KVER),)
KVER := $(shell scripts/kver.sh $(KSERIES))
endif
# The second kernel series make check boots (the tests named NAME@6.12
# in selftests/TESTS).
KSERIES_ALSO := 6.12
KVER_ALSO := $(shell scripts/kver.sh $(KSERIES_ALSO))
O := $(CURDIR)/build
KMOD_DIR := $(O)/kmod/$(KVER)
# The kernel build tree modules are built against (make debug-kernel
# passes its own).
KDIR ?= /lib/modules/$(KVER)/build
KO := $(KMOD_DIR)/drivers/block/qrep/qrep.ko
TOOLS := $(O)/tools

KERNEL_SRCS := Kbuild $(shell find drivers include -type f \( -name '*.[ch]' -o -name Kbuild \) 2>/dev/null)
HARNESS_MOD_SRCS := $(wildcard selftests/harness/kmod/*.[ch] selftests/harness/kmod/Kbuild)

export QREP_ROOT := $(CURDIR)
export QREP_BUILD := $(O)
export KVER

all: module userspace

deps:
	@scripts/deps.sh $(KSERIES)

$(TOOLS)/.extracted:
	@scripts/kernel-tools.sh $(TOOLS)

tools: $(TOOLS)/.extracted

check-kver:
	@test -n "$(KVER)" -a -e "$(KDIR)/Makefile" || \
		{ echo "no kernel headers for '$(KVER)' (series $(KSERIES)): run make deps" >&2; exit 1; }

# The module is built in a copy of the sources per kernel release, so that
# builds against 6.1 and 6.12 can sit side by side.
module: check-kver $(KO)
$(KO): $(KERNEL_SRCS)
	@mkdir -p $(KMOD_DIR)
	@cp -a --parents $(KERNEL_SRCS) $(KMOD_DIR)/
	+@QREP_KDIR=$(KDIR) scripts/kbuild.sh $(KVER) $(KMOD_DIR) W=1 modules

# qrep.ko for the second series, for the tests that boot it.
module-also:
	@test -n "$(KVER_ALSO)" || \
		{ echo "no kernel headers for series $(KSERIES_ALSO): run make deps" >&2; exit 1; }
	+@$(MAKE) --no-print-directory module KVER=$(KVER_ALSO)

# The test-only module the harness self-tests load (it warns on purpose).
harness-module: check-kver
	@mkdir -p $(O)/harness-kmod/$(KVER)
	@cp -a $(HARNESS_MOD_SRCS) $(O)/harness-kmod/$(KVER)/
	+@QREP_KDIR=$(KDIR) scripts/kbuild.sh $(KVER) $(O)/harness-kmod/$(KVER) modules

userspace: tools
	$(MAKE) -C userspace O=$(O) all

# The end-to-end unit tests start build/bin/qrep-target: build the tools first.
unit: userspace
	$(MAKE) -C userspace O=$(O) unit

# The simulations, long: the election's and the data plane's, a million
# seeded runs each over all cores (make check runs 20,000 of each).
# QREP_SIM_RUNS=N sets the number.
QREP_SIM_RUNS ?= 1000000
sim-long: tools
	$(MAKE) -C userspace O=$(O) $(O)/unit/test_election_sim data-sim
	QREP_SIM_RUNS=$(QREP_SIM_RUNS) QREP_SIM_JOBS=$$(nproc) $(O)/unit/test_election_sim
	QREP_SIM_RUNS=$(QREP_SIM_RUNS) QREP_SIM_JOBS=$$(nproc) $(O)/unit/test_data_sim

# The nemesis (selftests/qrep/nemesis.sh, Documentation/testing.rst):
# NEMESIS_RUNS schedules of NEMESIS_FAULTS random faults each (power-offs,
# link cuts and netem, slow and failing disks, qrepd killed) against a
# 3-VM quorum cluster, each from a seed: NEMESIS_SEED replays them. make
# check runs one. NEMESIS_KINDS: the kinds of fault drawn (blackout, every
# node's power at once, only if named). Like check, it installs what it
# needs first.
NEMESIS_RUNS ?= 10
nemesis: deps
	@$(MAKE) --no-print-directory $@-run

nemesis-run: all
	NEMESIS_RUNS=$(NEMESIS_RUNS) $(if $(NEMESIS_SEED),NEMESIS_SEED=$(NEMESIS_SEED)) \
		$(if $(NEMESIS_FAULTS),NEMESIS_FAULTS=$(NEMESIS_FAULTS)) \
		$(if $(NEMESIS_KINDS),NEMESIS_KINDS="$(NEMESIS_KINDS)") selftests/qrep/nemesis.sh

# Fuzzing with clang's libFuzzer (selftests/fuzz): build the harnesses,
# run each for FUZZ_SECONDS (FUZZ_JOBS at a time), or briefly, as the
# fuzz-brief test of make check does.
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1

fuzz-build:
	$(MAKE) -C selftests/fuzz O=$(O) all

fuzz: fuzz-build
	@selftests/fuzz/run.sh --seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS)

fuzz-brief: fuzz-build
	@selftests/fuzz/run_brief.sh

sparse: check-kver
	@rm -rf $(O)/sparse/$(KVER) && mkdir -p $(O)/sparse/$(KVER)
	@cp -a --parents $(KERNEL_SRCS) $(O)/sparse/$(KVER)/
	+@scripts/kbuild.sh $(KVER) $(O)/sparse/$(KVER) C=2 modules

checkpatch: tools
	@perl $(TOOLS)/scripts/checkpatch.pl --no-tree --strict --terse \
		-f $(filter %.c %.h,$(KERNEL_SRCS))

# These install what they need first, then go on in a new make, which
# sees what make deps installed (on a fresh machine: the kernel itself).
check check-quick demo vm-shell debug-kernel check-debug: deps
	@$(MAKE) --no-print-directory $@-run

# The whole suite on the second series (make check boots only the tests
# named NAME@6.12 there). KVER is dropped so that it is looked up again.
check-6.12:
	@env -u KVER $(MAKE) --no-print-directory check KSERIES=6.12


# The debug kernel of the test VMs (qemu/debug-kernel/): built once from
# Debian's linux-source-6.12 with qemu/debug-kernel/debug.config, cached
# in build/debug-kernel (a second run builds nothing), then qrep.ko and
# the harness's test module against it.
DEBUG_KDIR := $(O)/debug-kernel/current
debug-kernel-run:
	@qemu/debug-kernel/build.sh
	@$(MAKE) --no-print-directory module harness-module \
		KVER=$$(cat $(DEBUG_KDIR)/kernelrelease) KDIR=$(DEBUG_KDIR)

# VM tests on the debug kernel, 2 vCPUs per VM (QREP_DEBUG_VM_CPUS), with
# a kmemleak scan at the end of each: CHECK_DEBUG_TESTS, or T=name.
# Results in build/test-results, as for make check. Not part of make
# check (yet): Documentation/testing.rst gives the times.
CHECK_DEBUG_TESTS ?= module,netlink,handles
check-debug-run: debug-kernel-run userspace
	@QREP_VM_KERNEL=debug selftests/run --only $(or $(T),$(CHECK_DEBUG_TESTS))

check-run: all unit harness-module module-also fuzz-build
	@selftests/run $(if $(T),--only $(T))

check-quick-run: all unit harness-module module-also
	@selftests/run --quick $(if $(T),--only $(T))

demo-run: all
	@qemu/run-vm --timeout 900 -- $(CURDIR)/scripts/demo.sh

vm-shell-run: all
	@qemu/run-vm --interactive

# The benchmark (bench/run; settings as BENCH_* variables, see there and
# Documentation/performance.rst): writes bench/results/latest.md and .csv.
# Like check, it installs what it needs first.
bench bench-smoke: deps
	@$(MAKE) --no-print-directory $@-run

bench-run: all
	@bench/run

bench-smoke-run: all
	@bench/run --smoke

.PHONY: bench bench-smoke bench-run bench-smoke-run

# The documentation, as HTML; any Sphinx warning (a broken reference, a
# page missing from the index) fails the build.
DOCS_SRC := Documentation
DOCS_OUT := $(O)/docs
docs:
	@command -v sphinx-build >/dev/null || \
		{ echo "no sphinx-build: run make deps" >&2; exit 1; }
	@sphinx-build -q -n -W --keep-going -b html $(DOCS_SRC) $(DOCS_OUT)

clean:
	rm -rf $(O)

.PHONY: all deps tools check-kver module module-also harness-module userspace unit sim-long sparse \
	checkpatch check check-quick check-6.12 demo vm-shell check-run check-quick-run \
	debug-kernel debug-kernel-run check-debug check-debug-run \
	demo-run vm-shell-run docs fuzz fuzz-build fuzz-brief nemesis nemesis-run clean
