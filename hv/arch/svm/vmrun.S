/*
 * void svm_vmrun(u64 vmcb_pa, struct guest_regs *gpr, u64 host_save_pa)
 *
 * VMRUN switches only RAX/RSP/RIP, segments, CRs, EFER, RFLAGS, DR6/7 (notes,
 * docs/platform.md P8).  So: VMSAVE the host's FS/GS/TR/LDTR/KernelGSBase/syscall
 * MSRs, VMLOAD the guest's, load the guest GPRs (RAX lives in the VMCB), run;
 * on #VMEXIT store the guest GPRs, VMSAVE the guest's hidden state back into
 * its VMCB and VMLOAD the host's.  Called with GIF=0 (CLGI), so no NMI can
 * observe the half-switched FS/GS/TR; the host NMI handler does not depend
 * on them anyway (this_cpu() masks RSP).
 */
#include "arch/svm/guest_regs.h"

	.text
	.code64
	.globl svm_vmrun
svm_vmrun:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdx			/* 16(%rsp): host save area */
	push %rsi			/*  8(%rsp): guest GPRs */
	push %rdi			/*  0(%rsp): VMCB */

	mov %rdx, %rax
	vmsave
	mov (%rsp), %rax
	vmload

	mov 8(%rsp), %rax
	mov GPR_RBX(%rax), %rbx
	mov GPR_RCX(%rax), %rcx
	mov GPR_RDX(%rax), %rdx
	mov GPR_RSI(%rax), %rsi
	mov GPR_RDI(%rax), %rdi
	mov GPR_RBP(%rax), %rbp
	mov GPR_R8(%rax), %r8
	mov GPR_R9(%rax), %r9
	mov GPR_R10(%rax), %r10
	mov GPR_R11(%rax), %r11
	mov GPR_R12(%rax), %r12
	mov GPR_R13(%rax), %r13
	mov GPR_R14(%rax), %r14
	mov GPR_R15(%rax), %r15
	mov (%rsp), %rax
	vmrun
	/* #VMEXIT: RAX/RSP/RIP are the host's again; the rest are the guest's. */
	mov 8(%rsp), %rax
	mov %rbx, GPR_RBX(%rax)
	mov %rcx, GPR_RCX(%rax)
	mov %rdx, GPR_RDX(%rax)
	mov %rsi, GPR_RSI(%rax)
	mov %rdi, GPR_RDI(%rax)
	mov %rbp, GPR_RBP(%rax)
	mov %r8, GPR_R8(%rax)
	mov %r9, GPR_R9(%rax)
	mov %r10, GPR_R10(%rax)
	mov %r11, GPR_R11(%rax)
	mov %r12, GPR_R12(%rax)
	mov %r13, GPR_R13(%rax)
	mov %r14, GPR_R14(%rax)
	mov %r15, GPR_R15(%rax)
	mov (%rsp), %rax
	vmsave
	mov 16(%rsp), %rax
	vmload

	add $24, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
