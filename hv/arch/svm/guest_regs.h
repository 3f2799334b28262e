#ifndef HV_SVM_GUEST_REGS_H
#define HV_SVM_GUEST_REGS_H
/*
 * struct guest_regs (core/vcpu.h) as vmrun.S addresses it: byte offsets of
 * the GPRs VMRUN does not switch.  Assembly cannot see the C struct, so the
 * offsets live here once, included by vmrun.S and checked against the
 * struct at compile time (svm.c): reordering the struct fails the build
 * instead of loading the guest's RBX into RCX.  RAX lives in the VMCB.
 */
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
#endif
