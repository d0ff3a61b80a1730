/* INCRBYFLOAT's arithmetic, exactly as Redis 7.0 does it: parse both
 * operands with strtold (string2ld), add in long double, and print with
 * "%.17Lf" minus trailing zeros (ld2string, LD_STR_HUMAN). Rust has no
 * long double, so this small piece is C. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LONG_DOUBLE_CHARS_MAX (5 * 1024)

/* Redis's string2ld: 1 on success. */
static int parse_long_double(const char *s, size_t len, long double *out) {
    char buf[LONG_DOUBLE_CHARS_MAX];
    char *end;
    long double value;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    value = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || end[0] != '\0' || (size_t)(end - buf) != len ||
        (errno == ERANGE && (value == HUGE_VALL || value == -HUGE_VALL || fpclassify(value) == FP_ZERO)) ||
        isnan(value))
        return 0;
    *out = value;
    return 1;
}

/* ld2string's LD_STR_HUMAN for a finite value: "%.17Lf" without trailing
 * zeros (nor a trailing point), "-0" as "0". The length, or -1 when out is
 * too small. */
static int print_human(long double value, char *out, size_t out_len) {
    int len = snprintf(out, out_len, "%.17Lf", value);
    if (len < 0 || (size_t)len + 1 > out_len) return -1;
    if (strchr(out, '.') != NULL) {
        char *p = out + len - 1;
        while (*p == '0') { p--; len--; }
        if (*p == '.') len--;
    }
    if (len == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; len = 1; }
    return len;
}

/* Returns the length written to out, or -1 when the current value is not a
 * float, -2 when the increment is not, -3 for a NaN or infinite result,
 * -4 when out is too small. */
long slotcore_incrbyfloat(const char *current, size_t current_len, const char *increment,
                          size_t increment_len, char *out, size_t out_len) {
    long double value = 0, incr;
    int len;
    if (current && !parse_long_double(current, current_len, &value)) return -1;
    if (!parse_long_double(increment, increment_len, &incr)) return -2;
    value += incr;
    if (isnan(value) || isinf(value)) return -3;
    len = print_human(value, out, out_len);
    return len < 0 ? -4 : len;
}

/* A double as Redis's addReplyHumanLongDouble writes it (GEOPOS, WITHCOORD):
 * ld2string's LD_STR_HUMAN of the value as a long double. Returns the length
 * written, or -1 when out is too small. */
long slotcore_human_double(double value, char *out, size_t out_len) {
    long double wide = value;
    int len;
    if (isinf(wide)) {
        const char *text = wide > 0 ? "inf" : "-inf";
        len = (int)strlen(text);
        if ((size_t)len + 1 > out_len) return -1;
        memcpy(out, text, (size_t)len + 1);
        return len;
    }
    return print_human(wide, out, out_len);
}
