/* Hypervisor command line: space-separated key=value words. */
#include "core/cmdline.h"
#include "core/string.h"

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
