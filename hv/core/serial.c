/*
 * COM1 16550, polled.  Every byte waits for THR-empty in the line status
 * register first: QEMU's socket chardev drops bytes otherwise
 * (../shared/notes/platform-svm-tcg.md, pitfall 9).  Only the trace drain
 * (and the panic flush) write here; nothing else touches the UART.
 */
#include "core/serial.h"
#include "core/x86.h"

#define COM1 0x3f8
#define LSR_THR_EMPTY 0x20

void serial_init(void)
{
	outb(COM1 + 1, 0x00);	/* no UART interrupts */
	outb(COM1 + 3, 0x80);	/* DLAB */
	outb(COM1 + 0, 0x01);	/* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);	/* 8N1 */
	outb(COM1 + 2, 0xc7);	/* FIFO on, cleared */
	outb(COM1 + 4, 0x03);
}

void serial_putc(u8 c)
{
	while (!(inb(COM1 + 5) & LSR_THR_EMPTY))
		;
	outb(COM1, c);
}
