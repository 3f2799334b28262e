/* Private to the VMX backend. */
#ifndef HV_VMX_H
#define HV_VMX_H
#include "core/percpu.h"
#include "arch/arch.h"
#include "arch/vmx/vmcs.h"

#define ARCH_PAGE_VMXON 0	/* VMXON region */
#define ARCH_PAGE_VMCS 1	/* this CPU's one vCPU's VMCS */
#define ARCH_PAGE_STATE 2	/* struct vmx_cpu */

/* Backend state of one CPU that the VMCS cannot hold. */
struct vmx_cpu {
	u32 launched;		/* VMLAUNCH done: the next entry is VMRESUME */
	u32 flush;		/* INVEPT + INVVPID before the next entry (another CPU asks) */
	u32 nmi_seen;		/* a host NMI since the loop's top (vmentry.S's window) */
	u32 window_iret;	/* NMI-window exiting for the core's IRET watch */
	u32 window_step;	/* NMI-window exiting for a step out of an STI/MOV SS shadow */
	u64 ept_root;		/* the EPT this vCPU runs on when no PAL's is set */
};

static inline struct percpu *percpu_of_vcpu(struct vcpu *v)
{
	return (struct percpu *)((u64)v & ~(u64)(PERCPU_SIZE - 1));
}

static inline struct vmx_cpu *vmx_of(struct percpu *c) { return (struct vmx_cpu *)c->arch_pages[ARCH_PAGE_STATE]; }

/* VM-exit / VM-entry interruption information (SDM vol. 3, 25.8.3, 25.9.2). */
#define INTR_INFO_VALID (1u << 31)
#define INTR_INFO_HAS_ERROR (1u << 11)
#define INTR_TYPE_EXT_INT (0u << 8)
#define INTR_TYPE_NMI (2u << 8)
#define INTR_TYPE_HW_EXCEPTION (3u << 8)
#define INTR_TYPE_SOFT_INT (4u << 8)
#define INTR_TYPE_PRIV_SW_EXCEPTION (5u << 8)
#define INTR_TYPE_SOFT_EXCEPTION (6u << 8)

/* Guest interruptibility state (SDM vol. 3, 25.4.2). */
#define INTERRUPTIBILITY_STI 1u
#define INTERRUPTIBILITY_MOV_SS 2u
#define INTERRUPTIBILITY_NMI 8u

/* Guest activity state (SDM vol. 3, 25.4.2). */
#define GUEST_ACTIVITY_ACTIVE 0u
#define GUEST_ACTIVITY_HLT 1u

/* Processor-based controls used at run time. */
#define PROC_NMI_WINDOW (1u << 22)

u32 vmx_enter(struct guest_regs *gpr, u32 launched, const u32 *nmi_seen);
void vmx_handle_exit(struct percpu *c, u32 reason);
void vmx_skip_instruction(u32 len);
void vmx_inject(u32 info);
bool vmx_guest_code(u8 *out, u32 n);
void vmx_set_exception_intercept(u32 vector, bool on);
void vmx_update_nmi_window(struct vmx_cpu *x);
u64 ept_build(u64 prot_start, u64 prot_end);
#endif
