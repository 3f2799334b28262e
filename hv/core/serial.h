#ifndef HV_SERIAL_H
#define HV_SERIAL_H
#include "core/types.h"
void serial_init(void);
void serial_putc(u8 c);
void serial_drain(void);
#endif
