/* Numbers the C and the assembly of the multiboot test kernel share (#defines only). */
#ifndef MB_LAYOUT_H
#define MB_LAYOUT_H
#define MAX_CPUS 16
#define MAX_APS (MAX_CPUS - 1)
#define TRAMPOLINE_PA 0x7000		/* the APs' real-mode start: SIPI vector 7 */
#define IDT_VECTORS 32			/* the exceptions; vector 2 is the NMI */
#endif
