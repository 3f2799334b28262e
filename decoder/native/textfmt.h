/* _cwire.TextFormat (textfmt.c): the text view's lines in C. */
#ifndef HEISEN_TEXTFMT_H
#define HEISEN_TEXTFMT_H

#include <Python.h>

extern PyTypeObject TextFormatType;

#endif
