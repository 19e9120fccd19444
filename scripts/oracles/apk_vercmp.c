/* Judges "a<TAB>b" pairs (stdin) with apk-tools' own version comparison: compile together with an apk-tools
 * checkout's src/version.c and the headers in apk-shim/ (see regen-version-vectors.sh). Prints
 * "a<TAB>b<TAB>-1|0|1", dropping versions that apk_version_validate rejects. */
#include <stdio.h>
#include <string.h>

#include "apk_version.h"

int main(void)
{
	char line[8192];
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = 0;
		char *tab = strchr(line, '\t');
		if (!tab) continue;
		*tab = 0;
		apk_blob_t a = APK_BLOB_STR(line), b = APK_BLOB_STR(tab + 1);
		if (!apk_version_validate(a) || !apk_version_validate(b)) continue;
		int r = apk_version_compare(a, b);
		printf("%s\t%s\t%d\n", line, tab + 1, r == APK_VERSION_LESS ? -1 : r == APK_VERSION_GREATER ? 1 : 0);
	}
	return 0;
}
