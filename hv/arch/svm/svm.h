/* Private to the SVM backend. */
#ifndef HV_SVM_H
#define HV_SVM_H
#include "core/percpu.h"
#include "arch/svm/vmcb.h"
#include "arch/arch.h"

/* EFER.SVME (AMD APM vol. 2, 15.4): enables SVM; VMRUN requires it in the guest's
 * VMCB too (docs/platform.md P4), where the guest must not see it. */
#define EFER_SVME (1u << 12)

#define ARCH_PAGE_VMCB 0
#define ARCH_PAGE_HSAVE 1	/* VM_HSAVE_PA: where VMRUN keeps host state */
#define ARCH_PAGE_HOST_SAVE 2	/* VMSAVE of the host's FS/GS/TR/... */

static inline struct percpu *percpu_of_vcpu(struct vcpu *v)
{
	return (struct percpu *)((u64)v & ~(u64)(PERCPU_SIZE - 1));
}

static inline struct vmcb *vmcb_of(struct percpu *c)
{
	return (struct vmcb *)c->arch_pages[ARCH_PAGE_VMCB];
}

static inline struct vmcb *vcpu_vmcb(struct vcpu *v) { return vmcb_of(percpu_of_vcpu(v)); }

void svm_vmrun(u64 vmcb_pa, struct guest_regs *gpr, u64 host_save_pa);
void svm_handle_exit(struct percpu *c);
void svm_skip_instruction(struct vmcb *vmcb, u32 len);
u64 npt_build(u64 prot_start, u64 prot_end);
u64 npt_build_cpu(u32 cpu);
u64 npt_cpu_root(u32 cpu);
void npt_set_lapic(u32 cpu, enum lapic_map how, u64 shadow_pa);
#endif
