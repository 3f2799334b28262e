# Linux guest artifacts (docs/linux-guest.md):
#   build/linux/vmlinuz          the unmodified Debian cloud kernel (never compiled here:
#                                taken from the package behind linux-image-cloud-amd64)
#   build/linux/kernel.json      package, version, sha256 of the .deb and of vmlinuz
#   build/linux/busybox          busybox-static's binary
#   build/linux/heisen           the guest helper (guest/linux/heisen.c), static
#   build/linux/initramfs.cpio   busybox + init + heisen (tools/mkinitramfs.py)
# Fetching needs apt (no root unless the package lists need an apt-get update).
.PHONY: linux
LINUX_BUILD := $(BUILD)/linux

linux: $(LINUX_BUILD)/vmlinuz $(LINUX_BUILD)/kernel.json $(LINUX_BUILD)/initramfs.cpio

# No prerequisites: once fetched the kernel stays (make clean fetches it again,
# then possibly a newer one: kernel.json says which).
# One fetch writes both (a grouped target): a build dir that lost kernel.json
# fetches again rather than run a kernel nobody can name.
$(LINUX_BUILD)/vmlinuz $(LINUX_BUILD)/kernel.json &:
	$(PYTHON) tools/linuxdeb.py kernel $(LINUX_BUILD)

$(LINUX_BUILD)/busybox:
	$(PYTHON) tools/linuxdeb.py busybox $(LINUX_BUILD)

# Hosted programs, static so they run from the initramfs with no libc there.
LINUX_HEISEN_CFLAGS := -static -O2 -Wall -Wextra -Werror -Iinclude
# The scenarios' test programs: every guest/linux/*.c but the helper (init runs them
# per CPU: "Test programs" in docs/linux-guest.md; harness/judge/linux.py reads the same set).
LINUX_PROGRAMS := $(filter-out heisen,$(basename $(notdir $(wildcard guest/linux/*.c))))

$(LINUX_BUILD)/%: guest/linux/%.c guest/linux/vmmcall.h include/heisen/defs.h guest/linux/linux.mk
	@mkdir -p $(@D)
	gcc $(LINUX_HEISEN_CFLAGS) -o $@ $<

$(LINUX_BUILD)/initramfs.cpio: tools/mkinitramfs.py guest/linux/init $(LINUX_BUILD)/busybox \
		$(LINUX_BUILD)/heisen $(LINUX_PROGRAMS:%=$(LINUX_BUILD)/%)
	$(PYTHON) tools/mkinitramfs.py --busybox $(LINUX_BUILD)/busybox --init guest/linux/init \
		--heisen $(LINUX_BUILD)/heisen $(LINUX_PROGRAMS:%=--program $(LINUX_BUILD)/%) -o $@
