/* Hypervisor command line: space-separated key=value words. */
#include "core/cmdline.h"
#include "core/string.h"
#include <heisen/defs.h>

const char *cmdline_get(const char *s, const char *key, u32 *len)
{
	size_t kl = strlen(key);
	while (*s) {
		while (*s == ' ')
			s++;
		const char *w = s;
		while (*s && *s != ' ')
			s++;
		if ((size_t)(s - w) > kl && !strncmp(w, key, kl) && w[kl] == '=') {
			*len = (u32)(s - w - kl - 1);
			return w + kl + 1;
		}
	}
	return NULL;
}

const char *cmdline_workload(const char *s, u32 cpu, u32 *len)
{
	char key[8] = "wl";
	u32 n = 2;
	if (cpu >= 10)
		key[n++] = (char)('0' + cpu / 10);
	key[n++] = (char)('0' + cpu % 10);
	key[n] = 0;
	const char *v = cmdline_get(s, key, len);
	if (!v)
		v = cmdline_get(s, "wl", len);
	if (!v) {
		*len = 5;
		v = "hello";
	}
	return v;
}

static int digit(char c, u32 base)
{
	int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;
	return d < (int)base ? d : -1;
}

bool cmdline_number(const char *v, u32 len, u64 *out)
{
	u32 base = 10, i = 0;
	if (len > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
		base = 16, i = 2;
	if (i == len)
		return false;
	u64 n = 0;
	for (; i < len; i++) {
		int d = digit(v[i], base);
		if (d < 0 || n > (~0ull - (u64)d) / base)
			return false;
		n = n * base + (u64)d;
	}
	*out = n;
	return true;
}

/* The guests' workloads and their argument rules (defs/workloads.toml). */
enum { ARG_NONE, ARG_REQUIRED, ARG_OPTIONAL };
#define WORKLOAD_ENTRY(name, rule, fn) { name, rule },
static const struct {
	const char *name;
	int rule;
} workloads[] = { HEISEN_WORKLOADS(WORKLOAD_ENTRY) };

static bool same(const char *a, u32 alen, const char *b)
{
	return strlen(b) == alen && !strncmp(a, b, alen);
}

static const char *check_workload(const char *v, u32 len)
{
	u32 n = 0;
	while (n < len && v[n] != ':')
		n++;
	const char *arg = v + n + 1;
	u32 alen = n < len ? len - n - 1 : 0;
	bool has_arg = n < len;
	for (u32 i = 0; i < ARRAY_SIZE(workloads); i++) {
		if (!same(v, n, workloads[i].name))
			continue;
		u64 x;
		if (workloads[i].rule == ARG_NONE)
			return has_arg ? "this workload takes no argument" : NULL;
		if (!has_arg)
			return workloads[i].rule == ARG_REQUIRED ? "this workload needs a count (NAME:N)" : NULL;
		if (!cmdline_number(arg, alen, &x))
			return "the workload's argument is not a number";
		if (workloads[i].rule == ARG_REQUIRED && x == 0)
			return "a count of 0 would pass without doing anything";
		return NULL;
	}
	return "unknown workload name (defs/workloads.toml)";
}

/* `wlN` with N a decimal CPU index, no leading zero: N, else -1. */
static int wl_cpu(const char *k, u32 klen)
{
	if (klen < 3 || klen > 4 || k[0] != 'w' || k[1] != 'l' || (klen == 4 && k[2] == '0'))
		return -1;
	u64 n;
	return cmdline_number(k + 2, klen - 2, &n) && digit(k[2], 10) >= 0 ? (int)n : -1;
}

static const char *check_word(const char *k, u32 klen, const char *v, u32 vlen, u32 ncpus)
{
	u64 n;
	if (vlen > CMDLINE_VALUE_MAX)
		return "value longer than 63 characters";
	if (same(k, klen, "seed") || same(k, klen, "nmi_every"))
		return cmdline_number(v, vlen, &n) ? NULL : "not a number";
	if (same(k, klen, "nmi_edu"))
		return !cmdline_number(v, vlen, &n) ? "not a number"
		     : n > NMI_EDU_MAX_US ? "at most 10000000 (us)" : NULL;
	if (same(k, klen, "nmi_com2") || same(k, klen, "testhc") || same(k, klen, "rdtsc_exit"))
		return same(v, vlen, "0") || same(v, vlen, "1") ? NULL : "expected 0 or 1";
	if (same(k, klen, "trace"))
		return same(v, vlen, "record") || same(v, vlen, "mem") || same(v, vlen, "e9") ? NULL
			: "expected record, mem or e9";
	if (same(k, klen, "wl"))
		return check_workload(v, vlen);
	int cpu = wl_cpu(k, klen);
	if (cpu < 0)
		return "unknown option (wl, wlN, seed, nmi_every, nmi_com2, trace, testhc, rdtsc_exit, nmi_edu)";
	if ((u32)cpu >= ncpus)
		return "a workload for a CPU this machine does not have";
	return check_workload(v, vlen);
}

bool cmdline_check(const char *s, u32 ncpus, struct cmdline_error *err)
{
	for (const char *p = s; *p;) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		u32 wlen = (u32)(p - w), klen = 0;
		if (!wlen)
			break;
		while (klen < wlen && w[klen] != '=')
			klen++;
		const char *why = klen == wlen || klen == 0 ? "expected key=value" : NULL;
		if (!why)
			why = check_word(w, klen, w + klen + 1, wlen - klen - 1, ncpus);
		/* Each key once: a second `seed=` would be silently ignored. */
		for (const char *q = s; !why && q < w;) {
			while (*q == ' ')
				q++;
			if (!strncmp(q, w, klen + 1) && q < w)
				why = "option given twice";
			while (*q && *q != ' ')
				q++;
		}
		if (why) {
			*err = (struct cmdline_error){ why, w, wlen };
			return false;
		}
	}
	return true;
}

/* A valid number (cmdline_check said so) or 0 when the key is absent. */
static u64 number_of(const char *s, const char *key, bool *given)
{
	u32 len;
	u64 n = 0;
	const char *v = cmdline_get(s, key, &len);
	*given = v && cmdline_number(v, len, &n);
	return n;
}

static bool is_one(const char *s, const char *key)
{
	u32 len;
	const char *v = cmdline_get(s, key, &len);
	return v && same(v, len, "1");
}

void hv_options_parse(const char *s, struct hv_options *out)
{
	bool given;
	u32 len;
	*out = (struct hv_options){ 0 };
	out->seed = number_of(s, "seed", &out->seed_given);
	out->nmi_every = number_of(s, "nmi_every", &given);
	out->nmi_edu = number_of(s, "nmi_edu", &given);
	out->nmi_com2 = is_one(s, "nmi_com2");
	out->testhc = is_one(s, "testhc");
	out->rdtsc_exit = is_one(s, "rdtsc_exit");
	const char *t = cmdline_get(s, "trace", &len);
	out->trace = !t ? TRACE_MODE_STREAM : same(t, len, "record") ? TRACE_MODE_RECORD
		: same(t, len, "e9") ? TRACE_MODE_E9 : TRACE_MODE_MEM;
}

u64 hv_options_flags(const struct hv_options *o)
{
	return (o->seed_given ? TRACE_OPTIONS_FLAGS_SEED_GIVEN : 0) |
	       (o->nmi_com2 ? TRACE_OPTIONS_FLAGS_NMI_COM2 : 0) |
	       (o->testhc ? TRACE_OPTIONS_FLAGS_TESTHC : 0) |
	       (o->rdtsc_exit ? TRACE_OPTIONS_FLAGS_RDTSC_EXIT : 0) |
	       (o->nmi_edu ? TRACE_OPTIONS_FLAGS_NMI_EDU : 0) |
	       (o->trace == TRACE_MODE_RECORD ? TRACE_OPTIONS_FLAGS_TRACE_RECORD : 0) |
	       (o->trace == TRACE_MODE_MEM ? TRACE_OPTIONS_FLAGS_TRACE_MEM : 0) |
	       (o->trace == TRACE_MODE_E9 ? TRACE_OPTIONS_FLAGS_TRACE_E9 : 0);
}
