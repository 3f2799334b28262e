/* The exception table; each arch builds its own gate format. */
#ifndef GUEST_IDT_H
#define GUEST_IDT_H

/* Build the shared IDT (first CPU only) and load it on this CPU. */
void idt_install(void);
/* The IDT's page and the GDT's page (entry.S): each holds nothing else. */
const void *guest_idt_page(void);
extern const char guest_gdt_page[];

#endif
