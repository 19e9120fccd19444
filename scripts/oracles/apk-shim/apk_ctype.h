/* Minimal stand-in for apk-tools' apk_ctype.h: the two character classes src/version.c uses, as in
 * apk-tools' src/ctype.c (version suffixes are a-z, commit hashes 0-9a-f). */
#ifndef BULWARK_APK_SHIM_CTYPE_H
#define BULWARK_APK_SHIM_CTYPE_H
#include "apk_defines.h"

enum { APK_CTYPE_HEXDIGIT, APK_CTYPE_VERSION_SUFFIX };

static inline int apk_blob_spn(apk_blob_t blob, unsigned char ctype, apk_blob_t *l, apk_blob_t *r)
{
	long i;
	for (i = 0; i < blob.len; i++) {
		unsigned char ch = blob.ptr[i];
		int ok = ctype == APK_CTYPE_HEXDIGIT ? ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))
		                                     : (ch >= 'a' && ch <= 'z');
		if (!ok) break;
	}
	if (l) *l = APK_BLOB_PTR_LEN(blob.ptr, i);
	if (r) *r = APK_BLOB_PTR_LEN(blob.ptr + i, blob.len - i);
	return i < blob.len;
}
#endif
