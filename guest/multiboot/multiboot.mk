# The project's multiboot (v1) test kernel (guest/multiboot/, docs/multiboot-guest.md):
#   build/multiboot.elf       an ELF32 kernel, placed by its program headers
#   build/multiboot-aout.bin  the same kernel as a flat binary whose header carries the
#                             a.out-kludge addresses (flag 16): the loader's other path
# Compiler flags as guest/guest.mk's 32-bit guest (see the reasons there), plus
# TRACE_OFF: <heisen/defs.h>'s trace emitters are the hypervisor's.
MB_BUILD   := $(BUILD)/multiboot
MB_CFLAGS  := -m32 -march=i686 -std=gnu11 -O2 -g -ffreestanding -nostdlib -fno-pic -fno-pie \
	-mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables \
	-Wall -Wextra -Werror -MMD -MP -Iinclude -Iguest/common -Iguest/multiboot -DTRACE_OFF
# One RWX segment on purpose: paging is off, nothing enforces permissions.
MB_LDFLAGS := -m elf_i386 -nostdlib -static -T guest/multiboot/kernel.ld --build-id=none -z max-page-size=0x1000 \
	--no-warn-rwx-segments

MB_SRC     := $(filter-out guest/multiboot/header.S,$(wildcard guest/multiboot/*.c guest/multiboot/*.S))
MB_OBJ     := $(patsubst guest/multiboot/%,$(MB_BUILD)/%.o,$(basename $(MB_SRC)))

guest: $(BUILD)/multiboot.elf $(BUILD)/multiboot-aout.bin

$(MB_BUILD)/%.o: guest/multiboot/%.c include/heisen/defs.h guest/multiboot/multiboot.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(MB_CFLAGS) -c $< -o $@
$(MB_BUILD)/%.o: guest/multiboot/%.S guest/multiboot/multiboot.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(MB_CFLAGS) -c $< -o $@
$(MB_BUILD)/header-aout.o: guest/multiboot/header.S guest/multiboot/multiboot.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(MB_CFLAGS) -DMB_AOUT -c $< -o $@

$(BUILD)/multiboot.elf: $(MB_BUILD)/header.o $(MB_OBJ) guest/multiboot/kernel.ld
	$(GUEST_LD) $(MB_LDFLAGS) -Map=$(BUILD)/multiboot.map -o $@ $(MB_BUILD)/header.o $(MB_OBJ)
$(BUILD)/multiboot-aout.elf: $(MB_BUILD)/header-aout.o $(MB_OBJ) guest/multiboot/kernel.ld
	$(GUEST_LD) $(MB_LDFLAGS) -o $@ $(MB_BUILD)/header-aout.o $(MB_OBJ)
$(BUILD)/multiboot-aout.bin: $(BUILD)/multiboot-aout.elf
	objcopy -O binary $< $@

-include $(MB_OBJ:.o=.d) $(MB_BUILD)/header.d $(MB_BUILD)/header-aout.d
