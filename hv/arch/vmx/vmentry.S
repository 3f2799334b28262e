/*
 * u32 vmx_enter(struct guest_regs *gpr, u32 launched, const u32 *nmi_seen)
 *
 * VM entry and exit switch RSP/RIP, segments, CRs and (by our controls)
 * EFER/PAT, but no other GPR (SDM vol. 3, 27.5, 28.5): load all of them
 * from *gpr, VMLAUNCH (first entry of this VMCS) or VMRESUME; the exit
 * lands at vmx_exit_point (HOST_RIP) with HOST_RSP as written here, the
 * guest's GPRs still in the registers.  Returns 0 after an exit, 1 if the
 * entry instruction itself failed (VMfail: VM_INSTRUCTION_ERROR says why), 2 if
 * an NMI reached the hypervisor after the loop's NMI look (no entry made).
 *
 * The entry window: VMX has no GIF, so an NMI can land between the loop's
 * nmi_virt_before_entry() and VMRESUME; latched then, it would wait for the
 * guest's next exit, and a guest that spins waiting for it makes none (an
 * nmi-all round at -smp 4 hung so).  *nmi_seen is set by every host NMI
 * since the loop's top (vmx.c, arch_host_nmi); checked at the window's
 * start, and an NMI inside [vmx_window_start, vmx_window_end) -- up to and
 * including VMLAUNCH/VMRESUME, before it executes -- returns to
 * vmx_window_abort instead.  Either way the loop runs its NMI look again.
 */
#include "arch/vmx/guest_regs.h"

	.text
	.code64
	.globl vmx_enter
vmx_enter:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi			/* (%rsp): guest GPRs, found again at the exit */

	/* HOST_RSP is this very RSP: the exit resumes on this frame. */
	mov $VMCS_HOST_RSP_ENC, %rax
	vmwrite %rsp, %rax
	jbe 3f

	.globl vmx_window_start
vmx_window_start:
	cmpl $0, (%rdx)
	jne vmx_window_abort
	test %esi, %esi			/* flags survive the MOVs below */
	mov GPR_RAX(%rdi), %rax
	mov GPR_RBX(%rdi), %rbx
	mov GPR_RCX(%rdi), %rcx
	mov GPR_RDX(%rdi), %rdx
	mov GPR_RSI(%rdi), %rsi
	mov GPR_RBP(%rdi), %rbp
	mov GPR_R8(%rdi), %r8
	mov GPR_R9(%rdi), %r9
	mov GPR_R10(%rdi), %r10
	mov GPR_R11(%rdi), %r11
	mov GPR_R12(%rdi), %r12
	mov GPR_R13(%rdi), %r13
	mov GPR_R14(%rdi), %r14
	mov GPR_R15(%rdi), %r15
	mov GPR_RDI(%rdi), %rdi
	jnz 1f
	vmlaunch
	jmp 3f
1:	vmresume
	.globl vmx_window_end
vmx_window_end:
3:	/* VMfail: the guest's registers are loaded, ours are on the stack. */
	mov $1, %eax
	jmp 4f

	.globl vmx_window_abort
vmx_window_abort:
	mov $2, %eax
	jmp 4f

	.globl vmx_exit_point
vmx_exit_point:
	push %rdi
	mov 8(%rsp), %rdi
	mov %rax, GPR_RAX(%rdi)
	mov %rbx, GPR_RBX(%rdi)
	mov %rcx, GPR_RCX(%rdi)
	mov %rdx, GPR_RDX(%rdi)
	mov %rsi, GPR_RSI(%rdi)
	mov %rbp, GPR_RBP(%rdi)
	mov %r8, GPR_R8(%rdi)
	mov %r9, GPR_R9(%rdi)
	mov %r10, GPR_R10(%rdi)
	mov %r11, GPR_R11(%rdi)
	mov %r12, GPR_R12(%rdi)
	mov %r13, GPR_R13(%rdi)
	mov %r14, GPR_R14(%rdi)
	mov %r15, GPR_R15(%rdi)
	pop %rax
	mov %rax, GPR_RDI(%rdi)
	xor %eax, %eax
4:	add $8, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
