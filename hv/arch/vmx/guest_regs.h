#ifndef HV_VMX_GUEST_REGS_H
#define HV_VMX_GUEST_REGS_H
/*
 * struct guest_regs (core/vcpu.h) as vmentry.S addresses it.  VM entry and
 * exit switch no GPR but RSP (SDM vol. 3, 27.5 / 28.5), so unlike SVM the
 * guest's RAX lives here too.  Checked against the struct at compile time
 * (vmx.c).
 */
#define GPR_RAX 0
#define GPR_RBX 8
#define GPR_RCX 16
#define GPR_RDX 24
#define GPR_RSI 32
#define GPR_RDI 40
#define GPR_RBP 48
#define GPR_R8 56
#define GPR_R9 64
#define GPR_R10 72
#define GPR_R11 80
#define GPR_R12 88
#define GPR_R13 96
#define GPR_R14 104
#define GPR_R15 112
/* HOST_RSP's encoding for vmentry.S (checked against vmcs.h's table in vmx.c). */
#define VMCS_HOST_RSP_ENC 0x6c14
#endif
