/* _cwire.Check (check.c): the checker in C over a serial capture. */
#ifndef HEISEN_CHECK_H
#define HEISEN_CHECK_H

#include <Python.h>

extern PyTypeObject CheckType;

#endif
