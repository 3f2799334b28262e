#ifndef HV_NMI_VIRT_H
#define HV_NMI_VIRT_H
#include "core/types.h"
struct vcpu;
void nmi_virt_latch(struct vcpu *v);		/* host NMI context */
void nmi_virt_on_exit(struct vcpu *v);		/* after every exit's handler */
void nmi_virt_on_iret(struct vcpu *v);		/* IRET intercepted */
void nmi_virt_iret_retired(struct vcpu *v);	/* the backend saw the IRET retire */
bool nmi_virt_on_single_step(struct vcpu *v);	/* our #DB: true if consumed */
void nmi_virt_before_entry(struct vcpu *v);	/* GIF=0, just before entry */
#endif
