# guest rules (see top-level Makefile): the 32-bit and the 64-bit test guest,
# built from the same guest/common/ sources plus guest/arch32/ or guest/arch64/.
.PHONY: guest
guest: $(BUILD)/guest32.elf $(BUILD)/guest64.elf

GUEST_CC := gcc
GUEST_LD := ld

# Freestanding kernel code:
#  -ffreestanding        no hosted libc assumptions (main, builtins as libc calls)
#  -nostdlib             link nothing we did not write (no crt0, no libc, no libgcc)
#  -fno-pic -fno-pie     absolute addresses: the image runs where it is linked (32 MiB)
#  -mno-red-zone         exceptions and NMIs push onto the interrupted stack; without
#                        this a leaf function's data below RSP is overwritten
#                        (XMHF64's red-zone corruption); -m32 has no red zone, harmless there
#  -mgeneral-regs-only   no SSE/x87: nobody enables or saves FPU state in this guest
#  -fno-stack-protector  no canary: there is no __stack_chk_fail or TLS guard here
#  -fno-asynchronous-unwind-tables  no .eh_frame: nothing unwinds
#  -Wall -Wextra -Werror house rule
GUEST_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -nostdlib -fno-pic -fno-pie -mno-red-zone \
	-mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables \
	-Wall -Wextra -Werror -MMD -MP -Iinclude -Iguest/common
GUEST32_CFLAGS := -m32 -march=i686 -Iguest/arch32 $(GUEST_CFLAGS)
GUEST64_CFLAGS := -m64 -Iguest/arch64 $(GUEST_CFLAGS)
# max-page-size 4K: no 2 MiB alignment padding between the two PT_LOADs.
GUEST_LDFLAGS := -nostdlib -static -T guest/guest.ld --build-id=none -z max-page-size=0x1000

GUEST_COMMON_SRC := $(wildcard guest/common/*.c)
GUEST32_SRC := $(GUEST_COMMON_SRC) $(wildcard guest/arch32/*.c guest/arch32/*.S)
GUEST64_SRC := $(GUEST_COMMON_SRC) $(wildcard guest/arch64/*.c guest/arch64/*.S)
GUEST32_OBJ := $(patsubst guest/%,$(BUILD)/guest32/%.o,$(basename $(GUEST32_SRC)))
GUEST64_OBJ := $(patsubst guest/%,$(BUILD)/guest64/%.o,$(basename $(GUEST64_SRC)))

$(BUILD)/guest32/%.o: guest/%.c include/heisen/defs.h guest/guest.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST32_CFLAGS) -c $< -o $@
$(BUILD)/guest32/%.o: guest/%.S guest/guest.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST32_CFLAGS) -c $< -o $@
$(BUILD)/guest64/%.o: guest/%.c include/heisen/defs.h guest/guest.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST64_CFLAGS) -c $< -o $@
$(BUILD)/guest64/%.o: guest/%.S guest/guest.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST64_CFLAGS) -c $< -o $@

# The .map next to each ELF: where every symbol landed, for reading trace RIPs.
$(BUILD)/guest32.elf: $(GUEST32_OBJ) guest/guest.ld
	$(GUEST_LD) -m elf_i386 $(GUEST_LDFLAGS) -Map=$(BUILD)/guest32.map -o $@ $(GUEST32_OBJ)
$(BUILD)/guest64.elf: $(GUEST64_OBJ) guest/guest.ld
	$(GUEST_LD) -m elf_x86_64 $(GUEST_LDFLAGS) -Map=$(BUILD)/guest64.map -o $@ $(GUEST64_OBJ)

-include $(GUEST32_OBJ:.o=.d) $(GUEST64_OBJ:.o=.d)
