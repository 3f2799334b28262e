#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H
struct vcpu;
/* Handle the hypercall in the guest's RAX/RBX/RCX/RDX; result into RAX. */
void hypercall_dispatch(struct vcpu *v);
#endif
