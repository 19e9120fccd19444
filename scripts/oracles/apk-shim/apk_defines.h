/* Minimal stand-in for apk-tools' apk_defines.h / apk_blob.h, so that apk-tools' own src/version.c can be
 * compiled alone as a version-comparison oracle. The blob helpers mirror apk-tools' src/blob.c. */
#ifndef BULWARK_APK_SHIM_DEFINES_H
#define BULWARK_APK_SHIM_DEFINES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct { long len; char *ptr; } apk_blob_t;

#define APK_BLOB_NULL ((apk_blob_t){0, NULL})
#define APK_BLOB_IS_NULL(blob) ((blob).ptr == NULL)
#define APK_BLOB_PTR_LEN(beg, len) ((apk_blob_t){(len), (beg)})
#define APK_BLOB_STR(str) APK_BLOB_PTR_LEN((char *)(str), strlen(str))
#define APK_BLOB_STRLIT(str) ((apk_blob_t){sizeof(str) - 1, (char *)(str)})
#define BLOB_FMT "%.*s"
#define BLOB_PRINTF(b) (int)(b).len, (b).ptr
#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))
#ifndef min
#define min(a, b) ((a) < (b) ? (a) : (b))
#endif

static inline uint64_t apk_blob_pull_uint(apk_blob_t *b, int radix)
{
	uint64_t val = 0;
	while (b->len && b->ptr[0] != 0) {
		int ch = b->ptr[0];
		int d = (ch >= '0' && ch <= '9') ? ch - '0'
		      : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10
		      : (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10 : 0xff;
		if (d >= radix) break;
		val = val * radix + d;
		b->ptr++;
		b->len--;
	}
	return val;
}

static inline int apk_blob_compare(apk_blob_t a, apk_blob_t b)
{
	if (a.len == b.len) return memcmp(a.ptr, b.ptr, a.len);
	return a.len < b.len ? -1 : 1;
}

static inline int apk_blob_sort(apk_blob_t a, apk_blob_t b)
{
	int s = memcmp(a.ptr, b.ptr, min(a.len, b.len));
	if (s != 0) return s;
	return a.len - b.len;
}

static inline int apk_blob_pull_blob_match(apk_blob_t *b, apk_blob_t match)
{
	if (b->len < match.len) return 0;
	if (memcmp(b->ptr, match.ptr, match.len) != 0) return 0;
	b->ptr += match.len;
	b->len -= match.len;
	return 1;
}
#endif
