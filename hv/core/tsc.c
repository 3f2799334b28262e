/*
 * TSC frequency, measured against the PIT (channel 2 gated through port
 * 0x61, as Linux's pit_calibrate_tsc): 10 ms of PIT time.  It goes into the
 * BOOT record so the decoder can turn TSC deltas into microseconds.  Under
 * QEMU the PIT runs on the virtual clock: with -icount both tick in virtual
 * time, without it the ratio is the host TSC rate.
 */
#include "core/tsc.h"
#include "core/x86.h"

#define PIT_HZ 1193182u
#define CAL_MS 10u

u64 tsc_khz;

void tsc_calibrate(void)
{
	u32 count = PIT_HZ * CAL_MS / 1000;
	outb(0x61, (u8)((inb(0x61) & ~0x02) | 0x01));	/* gate on, speaker off */
	outb(0x43, 0xb0);				/* ch 2, lobyte/hibyte, mode 0 */
	outb(0x42, (u8)count);
	outb(0x42, (u8)(count >> 8));
	u64 t0 = rdtsc();
	u64 spins = 0;
	while (!(inb(0x61) & 0x20) && ++spins < 100000000ull)
		;
	u64 t1 = rdtsc();
	tsc_khz = (t1 - t0) / CAL_MS;
}

void tsc_spin(u64 ticks)
{
	u64 start = rdtsc();
	while (rdtsc() - start < ticks)
		cpu_relax();
}
