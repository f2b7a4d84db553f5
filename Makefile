# SPDX-License-Identifier: GPL-2.0
# quectel-af: AF_QUECTEL sockets over Quectel modem AT commands.
#
#   make                 module (Debian 6.1 headers) and userspace programs
#   make deps            install the Debian packages the project needs
#   make demo            boot a VM, attach a simulated modem, fetch a web page
#                        through AF_QUECTEL (installs what it needs)
#   make check           every test: host, then guest on stock and debug kernels
#   make debug-kernel    build (cached) the debug kernel and the module for it
#   make C=1 / W=1       sparse / extra warnings on the module
#
# KDIR selects the kernel headers; by default the newest installed
# linux-headers-*-amd64 (never the running kernel's).

TOP := $(CURDIR)
KDIR ?= $(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n1)
DEBUG_KDIR := $(TOP)/build/kernel-debug
DEBUG_MOD := $(TOP)/build/debug
USERSPACE := $(patsubst %/Makefile,%,$(wildcard userspace/*/Makefile))
MODULE_SRC := Kbuild $(wildcard kernel/*.[ch]) $(wildcard uapi/linux/*.h)

export TOP

.PHONY: all module userspace deps harness debug-kernel debug-module check demo \
	check-host check-stock check-debug selftests clean help bench

all: module userspace

help:
	@sed -n '2,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

module:
	@test -n "$(KDIR)" || { echo "no kernel headers: run make deps" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(TOP) modules

userspace:
	@set -e; for d in $(USERSPACE); do $(MAKE) -C $$d; done

deps:
	@scripts/deps

harness:
	@scripts/get-harness

# In-guest test programs (built on the host, run in the guest over 9p).
selftests: harness
	$(MAKE) -C selftests

debug-kernel:
	@scripts/debug-kernel >/dev/null
	@$(MAKE) --no-print-directory debug-module

# The module for the debug kernel is built from a copy of the sources, so
# its objects never mix with the stock build's.
debug-module: $(MODULE_SRC)
	@mkdir -p $(DEBUG_MOD)
	@rsync -a --delete-excluded --include='/Kbuild' --include='/kernel/***' \
		--include='/uapi/***' --exclude='*.o' --exclude='.*.cmd' \
		--exclude='*' $(TOP)/ $(DEBUG_MOD)/
	$(MAKE) -C $(DEBUG_KDIR) M=$(DEBUG_MOD) modules

check: deps
	@scripts/check

demo: deps
	@$(MAKE) -s all
	@scripts/demo

# Benchmark (issue #10): AF_QUECTEL vs PPP over qtsim's link model in the
# stock-kernel VM; results in build/bench/ (scripts/bench --help).
bench: deps
	@scripts/bench

check-host: deps
	@scripts/check host

check-stock: deps
	@scripts/check stock

check-debug: deps
	@scripts/check debug

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP) clean
	@set -e; for d in $(USERSPACE); do $(MAKE) -C $$d clean; done
	-$(MAKE) -C selftests clean
	rm -rf build
