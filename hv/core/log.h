/*
 * hv_printf: the hypervisor's only way to say something in text.  It never
 * writes the UART and never takes a lock: the text becomes TEXT records in
 * this CPU's trace ring (trace/printf.c), drained to the serial port in
 * frames.  (XMHF64's print lock deadlocked against the quiesce lock.)
 */
#ifndef HV_LOG_H
#define HV_LOG_H
#include "printf.h"
#define hv_printf trace_printf
#endif
