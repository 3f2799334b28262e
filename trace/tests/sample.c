/*
 * trace-sample: a deterministic stream of wire frames from the real ring, frame and
 * drain code, for cross-checking decoders against this encoder.
 *
 *   trace-sample            the frames, binary, on stdout (what the UART would carry)
 *   trace-sample --expect   the records those frames must decode to, one JSON object
 *                           per line, in wire order, taken from the rings themselves
 *                           just before each drain (so not from the encoder):
 *     {"cpu": 0, "type": 19, "tsc": 1000000123, "a": [3, 7, 123456]}
 *     {"cpu": 0, "type": 1, "tsc": 1000000456, "text_hex": "68656c6c6f"}
 *   trace-sample --end-loss N   frames of N records on a 16-slot ring that overflows
 *                           until the end (the final flush's LOST, drain.c)
 *   "a" holds as many values as the event has fields (trace/events.toml order; rip
 *   fields as absolute values).
 *
 * The stream has 3 CPUs, every event type, TEXT from trace_printf (lines spanning
 * several records, a 0x00 inside text), frames split at 64 records, a LOST record after
 * CPU 2's 16-slot ring overflowed, a TSC that goes backwards on CPU 1, rip deltas of
 * both signs and u64 extremes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drain.h"
#include "host_platform.h"
#include "printf.h"

#define NCPU 3

static const uint16_t layouts[TRACE_EV_MAX + 1] = TRACE_EV_LAYOUTS;
static struct trace_ring *rings[NCPU];
static uint64_t tsc[NCPU] = { 1000000000ull, 1000000500ull, 999999000ull };
static int expect_mode;

static void on(unsigned cpu, uint64_t dt)
{
	host_set_current_ring(rings[cpu]);
	tsc[cpu] += dt;
	host_clock(HOST_CLOCK_SET, tsc[cpu]);
}

static void print_expectations(void)
{
	for (unsigned c = 0; c < NCPU; c++) {
		struct trace_ring *r = rings[c];
		for (uint64_t i = r->tail; i != r->commit; i++) {
			const struct trace_record *rec = trace_ring_slot(r, i);
			printf("{\"cpu\": %u, \"type\": %u, \"tsc\": %llu, ", c, rec->type, (unsigned long long)rec->tsc);
			if (rec->type == TRACE_EV_TEXT) {
				printf("\"text_hex\": \"");
				for (unsigned b = 0; b < rec->len; b++)
					printf("%02x", ((const uint8_t *)rec->a)[b]);
				printf("\"}\n");
				continue;
			}
			printf("\"a\": [");
			for (unsigned f = 0; f < (layouts[rec->type] & 3u); f++)
				printf("%s%llu", f ? ", " : "", (unsigned long long)rec->a[f]);
			printf("]}\n");
		}
	}
}

static void drain(void)
{
	if (expect_mode)
		print_expectations();
	if (!trace_drain()) {
		fprintf(stderr, "trace-sample: the drain was busy (cannot happen single-threaded)\n");
		exit(1);
	}
}

static void boot(void)
{
	on(0, 0);
	trace_boot(NCPU, 2500000, 1);
	for (unsigned c = 0; c < NCPU; c++) {
		on(c, 1000 + 17 * c);
		trace_cpu_up(2 * c, c);
		on(c, 250);
		trace_guest_start(GUEST_LOAD_MIN, c == 2 ? 32 : 64);
	}
	on(0, 90);
	trace_printf("heisenvisor: %u CPUs, TSC %u kHz, guest at %#x\n", NCPU, 2500000u, GUEST_LOAD_MIN);
	drain();
}

/* The `test` workload: VMMCALL round trips, with a guest NMI now and then. */
static void vmmcall_loop(unsigned cpu, unsigned n, uint64_t rip0)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t rip = rip0 + (i % 7) * 3;
		on(cpu, 24000 + (i * 37) % 900);
		trace_intercept_enter(0x81, rip);
		on(cpu, 1800);
		trace_hypercall(HC_TEST, i, hc_test_checksum(i, cpu));
		on(cpu, 700);
		trace_intercept_leave(0x81);
		if (i % 10 == 9) {
			on(cpu, 5000);
			trace_host_nmi(2, 0, 0);
			on(cpu, 300);
			trace_nmi_inject(0);
			on(cpu, 9000);
			trace_guest_event(GUEST_EV_NMI_ENTER, i, 0);
			on(cpu, 4000);
			trace_nmi_unblock(rip0 - 0x40);
		}
	}
}

static void everything_else(void)
{
	on(1, 10);
	trace_nmi_merged(1);
	on(1, 10);
	trace_exception_enter(14, 2, 0xFFFFFFFF80001234ull);  /* then back to a small rip: big negative delta */
	on(1, 10);
	trace_exception_leave(14);
	on(1, 10);
	trace_npf(0xFEE00000ull, 7, 0x2000123);
	/* CPU 1's TSC steps back (another core's clock): dt wraps modulo 2^64 on the wire. */
	on(1, (uint64_t)-5000);
	trace_guest_fault_inject(13, 0);
	on(1, 10);
	trace_hypercall(UINT64_MAX, 0, 1ull << 63);
	on(1, 10);
	trace_guest_report(0, 100, 0);
	on(1, 10);
	trace_nmi_counts(10, 0, 10);
	on(1, 10);
	trace_guest_event(GUEST_EV_PROGRESS, 50, 100);

	on(0, 100);
	trace_quiesce_request(1);
	for (unsigned c = 1; c < NCPU; c++) {
		on(c, 200);
		trace_quiesce_ack(1);
	}
	on(0, 300);
	trace_quiesce_begin(1);
	on(0, 50);
	trace_quiesce_end(1);
	for (unsigned c = 1; c < NCPU; c++) {
		on(c, 400);
		trace_quiesce_resume(1);
	}
	on(2, 10);
	trace_emit_text("a\0b\0c\n", 6);
	on(2, 10);
	trace_printf("fmt: [%5d] [%-5d] [%05d] [%x] [%lx] [%llx] [%p] [%c] [%s] [%%] [%zu]\n", -42, 42, -42, 0xBEEFu,
		     0x123456789ABCul, 0xFFFFFFFFFFFFFFFFull, (void *)0x1000, 'Z', "str", (size_t)7);
	drain();
}

/* CPU 2's 16-slot ring takes 40 records with nobody draining: 24 are dropped and reported. */
static void overflow(void)
{
	for (unsigned i = 0; i < 40; i++) {
		on(2, 100);
		trace_guest_event(GUEST_EV_PROGRESS, i, 40);
	}
	drain();
	on(2, 100);
	trace_quiesce_resume(2);
	drain();
}

/* Every event id in the table once more, so events added later are covered too. */
static void every_event_type(void)
{
	for (unsigned ev = 1; ev <= TRACE_EV_MAX; ev++) {
		if (!(layouts[ev] & 0x100) || ev == TRACE_EV_TEXT || ev == TRACE_EV_LOST)
			continue;
		on(1, 33 * ev);
		trace_emit(ev, ev, (uint64_t)ev << 40, 0x2000000 - ev);
	}
	drain();
}

static void the_end(void)
{
	on(0, 1000);
	trace_verdict(DEBUG_EXIT_PASS, 3, 0);
	on(0, 10);
	trace_panic(DEBUG_EXIT_PANIC, 0xDEAD, 0x100123);
	drain();
}

/* The captured serial bytes to stdout: 0, or 1 when they overflowed or could not be written. */
static int write_wire(void)
{
	size_t len, overflowed;
	const uint8_t *data = host_serial_data(&len, &overflowed);
	if (overflowed || fwrite(data, 1, len, stdout) != len) {
		fprintf(stderr, "trace-sample: could not write %zu bytes\n", len);
		return 1;
	}
	return 0;
}

/*
 * --end-loss N: N records attempted on one CPU whose 16-slot ring is drained once,
 * early, and then overflows until the machine ends: the final flush
 * (trace_drain_panic) must put the ring's last `dropped` count on the wire as LOST.
 */
static int end_loss(const char *arg)
{
	char *end;
	unsigned long n = strtoul(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || n == 0 || n > 1000000) {
		fprintf(stderr, "trace-sample: --end-loss wants a record count 1..1000000, not '%s'\n", arg);
		return 2;
	}
	rings[0] = host_ring_new(0, 16);
	host_set_rings(rings, 1);
	host_serial_reset(1 << 20);
	for (unsigned long i = 0; i < n; i++) {
		on(0, 100);
		trace_guest_event(GUEST_EV_PROGRESS, i, n);
		if (i == 10)
			drain();
	}
	trace_drain_panic();
	return write_wire();
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--end-loss") == 0)
		return end_loss(argv[2]);
	expect_mode = argc > 1 && strcmp(argv[1], "--expect") == 0;
	if (argc > 1 && !expect_mode) {
		fprintf(stderr, "usage: trace-sample [--expect | --end-loss N]\n");
		return 2;
	}
	for (unsigned c = 0; c < NCPU; c++)
		rings[c] = host_ring_new(c, c == 2 ? 16 : 256);
	host_set_rings(rings, NCPU);
	host_serial_reset(1 << 20);
	boot();
	vmmcall_loop(0, 30, 0x2001000);  /* 90+ records in one drain: CPU 0's frames split at 64 */
	vmmcall_loop(1, 20, 0x2001800);
	drain();
	everything_else();
	overflow();
	every_event_type();
	the_end();
	return expect_mode ? 0 : write_wire();
}
