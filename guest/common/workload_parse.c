/* NAME[:ARG] parsing for the workload string; see workload_parse.h. */
#include "workload_parse.h"

static int is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static enum workload_parse_error parse_hex(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return WL_PARSE_EMPTY_ARG;
	for (i = 0; i < len; i++) {
		int d = hex_value(s[i]);

		if (d < 0)
			return WL_PARSE_BAD_DIGIT;
		if (v >> 60)
			return WL_PARSE_OVERFLOW;
		v = (v << 4) | (uint64_t)d;
	}
	*out = v;
	return WL_PARSE_OK;
}

static enum workload_parse_error parse_decimal(const char *s, size_t len, uint64_t *out)
{
	/* UINT64_MAX / 10 and UINT64_MAX % 10, spelled out: a 64-bit division
	 * would need libgcc's __udivdi3 in the 32-bit guest. */
	const uint64_t max_div10 = 1844674407370955161ULL;
	const unsigned max_mod10 = 5;
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return WL_PARSE_EMPTY_ARG;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return WL_PARSE_BAD_DIGIT;
		d = (unsigned)(s[i] - '0');
		if (v > max_div10 || (v == max_div10 && d > max_mod10))
			return WL_PARSE_OVERFLOW;
		v = v * 10 + d;
	}
	*out = v;
	return WL_PARSE_OK;
}

enum workload_parse_error workload_parse(const char *s, size_t len, struct workload_spec *out)
{
	size_t n, name_len;
	const char *arg;
	size_t arg_len;
	enum workload_parse_error err;

	for (n = 0; n < len && s[n] != '\0'; n++)
		;
	for (name_len = 0; name_len < n && s[name_len] != ':'; name_len++)
		if (!is_name_char(s[name_len]))
			return WL_PARSE_BAD_NAME;
	if (name_len == 0)
		return WL_PARSE_EMPTY_NAME;

	out->name = s;
	out->name_len = name_len;
	out->has_arg = name_len < n;
	out->arg = 0;
	if (!out->has_arg)
		return WL_PARSE_OK;

	arg = s + name_len + 1;
	arg_len = n - name_len - 1;
	if (arg_len >= 2 && arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X'))
		err = parse_hex(arg + 2, arg_len - 2, &out->arg);
	else
		err = parse_decimal(arg, arg_len, &out->arg);
	return err;
}

int workload_name_is(const struct workload_spec *spec, const char *name)
{
	size_t i;

	for (i = 0; i < spec->name_len; i++)
		if (name[i] != spec->name[i])	/* also stops at name's NUL */
			return 0;
	return name[i] == '\0';
}
