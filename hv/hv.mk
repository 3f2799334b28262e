# Hypervisor build: an x86-64 freestanding ELF linked at its physical address
# (1 MiB), then objcopy'd to ELF32 because QEMU's multiboot loader refuses
# 64-bit images (docs/platform.md P1).
#
# Every flag below is there on purpose:
#   -ffreestanding -nostdlib  no hosted libc: the hypervisor has no OS under it.
#   -mno-red-zone   the SysV ABI lets leaf functions use 128 bytes below RSP
#                   without moving RSP.  An NMI or exception taken on the same
#                   stack pushes its frame right there and clobbers them:
#                   XMHF64's vmread corruption (bug_018, "vmwrite in 64-bit").
#                   The zoo bug `red-zone` drops this flag on purpose.
#   -mgeneral-regs-only  no SSE/AVX in hypervisor code: the guest's vector
#                   registers are never saved, so touching them would corrupt
#                   the guest, and interrupt paths would have to save them.
#   -mcmodel=small -fno-pic -fno-pie  linked below 2 GiB at fixed addresses;
#                   identity mapped, so symbol address == physical address.
#   -fno-stack-protector  no libc canary support (no __stack_chk_fail).
#   -fno-omit-frame-pointer  gdb backtraces of a hung CPU (harness capture).
#   -fno-strict-aliasing  VMCB/page-table code type-puns raw memory.
#   -O2 -g          fast exits, and symbols for gdb and the decoder.
comma      := ,
# ARCH: the virtualization backend, hv/arch/<ARCH>/.  svm (AMD SVM, QEMU TCG) is the
# default and builds $(BUILD)/hv.elf32; vmx (Intel VMX, Bochs) builds $(BUILD)/vmx/hv.elf32
# from its own objects, so both images can exist side by side.
ARCH       ?= svm
$(if $(filter $(value ARCH),svm vmx),,$(error ARCH must be svm or vmx))
ifeq ($(ARCH),svm)
HV_OUT     := $(BUILD)
else
HV_OUT     := $(BUILD)/$(ARCH)
endif
HV_BUILD   := $(HV_OUT)/hv
HV_CC      := gcc
HV_REDZONE := -mno-red-zone
ifneq ($(filter red-zone,$(subst $(comma), ,$(BUGS))),)
HV_REDZONE :=
endif
HV_BUGFLAGS := $(foreach b,$(subst $(comma), ,$(BUGS)),-DBUG_$(subst -,_,$(b))=1)
# Ring slots per CPU and the memory log's MiB.  bench-exit's recording row builds
# with rings that hold its whole run and a 1 MiB memory log: the image must end
# below the test guests' load address (32 MiB).  Only listed values reach the compiler.
# The VMX image runs under Bochs, whose UART carries 11,520 bytes (~2,300 records)
# per emulated second while back-to-back quiesces write up to 1.4x that, and only
# exit tails drain: test5 lost ~1,600 records a CPU with 4096 slots (docs/platform.md
# B8).  Larger rings change no timing; its memory log is 1 MiB (the bochs platform
# has no `--transport mem`) so the image still ends below the guests at 32 MiB
# (docs/harness.md "The bochs platform", ring size).
ifeq ($(ARCH),vmx)
TRACE_SLOTS     ?= 16384
TRACE_MEMLOG_MB ?= 1
endif
TRACE_SLOTS     ?= 4096
TRACE_MEMLOG_MB ?= 16
$(if $(filter $(value TRACE_SLOTS),1024 2048 4096 8192 16384 32768),,$(error TRACE_SLOTS must be one of 1024 2048 4096 8192 16384 32768))
$(if $(filter $(value TRACE_MEMLOG_MB),0 1 2 4 8 16),,$(error TRACE_MEMLOG_MB must be one of 0 1 2 4 8 16))
HV_TRACEFLAGS := $(if $(filter off,$(TRACE)),-DTRACE_OFF=1,) -DTRACE_NSLOTS=$(TRACE_SLOTS) \
	-DTRACE_MEMLOG_MB=$(TRACE_MEMLOG_MB)
HV_CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -nostdlib \
	$(HV_REDZONE) -mgeneral-regs-only -mcmodel=small -fno-pic -fno-pie \
	-fno-stack-protector -fno-omit-frame-pointer -fno-strict-aliasing \
	-fno-asynchronous-unwind-tables -m64 -Iinclude -Ihv -Itrace -DHV_ARCH_$(ARCH) \
	$(HV_BUGFLAGS) $(HV_TRACEFLAGS)
HV_ASFLAGS := -m64 -Wa,--noexecstack -Iinclude -Ihv -D__ASSEMBLY__
# One RWX load segment on purpose: the boot page tables map all of it RWX
# (2 MiB pages, no W^X in the hypervisor yet), so ld's warning says nothing new.
HV_LDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 -Wl,--build-id=none \
	-Wl,--no-warn-rwx-segments -T hv/hv.ld

HV_C_SRCS  := $(wildcard hv/core/*.c hv/arch/$(ARCH)/*.c hv/hypapps/*.c) $(HV_TRACE_SRCS)
HV_S_SRCS  := $(wildcard hv/boot/*.S hv/core/*.S hv/arch/$(ARCH)/*.S)
HV_OBJS    := $(patsubst %.c,$(HV_BUILD)/%.o,$(HV_C_SRCS)) $(patsubst %.S,$(HV_BUILD)/%.o,$(HV_S_SRCS))
HV_DEPS    := $(HV_OBJS:.o=.d)

.PHONY: hv
hv: $(HV_OUT)/hv.elf32

$(HV_BUILD)/%.o: %.c include/heisen/defs.h $(HV_OUT)/hv-flags
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(HV_CC) $(HV_CFLAGS) -MMD -MP -c $< -o $@

$(HV_BUILD)/%.o: %.S $(HV_OUT)/hv-flags
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(HV_CC) $(HV_ASFLAGS) -MMD -MP -c $< -o $@

# Rebuild everything when BUGS, TRACE or the trace sizes change.
$(HV_OUT)/hv-flags: FORCE
	@mkdir -p $(HV_OUT)
	@echo '$(HV_CFLAGS) $(HV_ASFLAGS)' | cmp -s - $@ || echo '$(HV_CFLAGS) $(HV_ASFLAGS)' > $@

$(HV_OUT)/hv.elf: $(HV_OBJS) hv/hv.ld
	$(HV_CC) $(HV_LDFLAGS) -o $@ $(HV_OBJS)

$(HV_OUT)/hv.elf32: $(HV_OUT)/hv.elf
	objcopy -I elf64-x86-64 -O elf32-i386 $< $@

.PHONY: FORCE
FORCE:

-include $(HV_DEPS)
