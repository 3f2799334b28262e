#ifndef HV_CPU_INIT_H
#define HV_CPU_INIT_H
struct percpu;
void cpu_init_tables(struct percpu *c);
#endif
