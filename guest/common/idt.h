/* The exception table; each arch builds its own gate format. */
#ifndef GUEST_IDT_H
#define GUEST_IDT_H

/* Build the shared IDT (first CPU only) and load it on this CPU. */
void idt_install(void);

#endif
