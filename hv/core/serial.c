/*
 * COM1 16550, polled.  Bytes wait for THR-empty in the line status
 * register: QEMU's socket chardev drops bytes otherwise
 * (docs/platform.md P9).  Only the trace drain
 * (and the panic flush) write here; nothing else touches the UART.
 */
#include "core/serial.h"
#include "core/x86.h"

#define COM1 0x3f8
#define LSR_THR_EMPTY 0x20
#define LSR_TX_EMPTY 0x40	/* FIFO and shift register both empty: the last byte is out */

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

/*
 * With the FIFO on (serial_init), THR-empty means the whole 16-byte
 * transmit FIFO is empty: poll once, then write 16 bytes.  Half the port
 * I/O of polling before every byte -- and each port access is a trip
 * through QEMU's I/O path.  Only the drain owner (or the panic flush that
 * stole the drain) writes, so one counter suffices.
 */
#define UART_FIFO 16
static u32 fifo_room;

void serial_putc(u8 c)
{
	if (fifo_room == 0) {
		while (!(inb(COM1 + 5) & LSR_THR_EMPTY))
			;
		fifo_room = UART_FIFO;
	}
	outb(COM1, c);
	fifo_room--;
}

/* Before the machine powers off (core/panic.c): Bochs' UART sends at its baud
 * rate, and a power-off with bytes still in the FIFO cut the last frame of a
 * run short (a CRC-failed tail).  Bounded: a UART that never drains must not
 * keep a dying machine alive. */
void serial_drain(void)
{
	for (u32 i = 0; i < 10000000 && !(inb(COM1 + 5) & LSR_TX_EMPTY); i++)
		;
}
