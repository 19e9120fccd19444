/* Minimal stand-in for apk-tools' apk_version.h. */
#ifndef BULWARK_APK_SHIM_VERSION_H
#define BULWARK_APK_SHIM_VERSION_H
#include "apk_defines.h"

#define APK_VERSION_UNKNOWN 0
#define APK_VERSION_EQUAL 1
#define APK_VERSION_LESS 2
#define APK_VERSION_GREATER 4
#define APK_VERSION_FUZZY 8
#define APK_VERSION_CONFLICT 16
#define APK_DEPMASK_ANY (APK_VERSION_EQUAL | APK_VERSION_LESS | APK_VERSION_GREATER)
#define APK_DEPMASK_CHECKSUM (APK_VERSION_LESS | APK_VERSION_GREATER)

int apk_version_validate(apk_blob_t ver);
int apk_version_compare(apk_blob_t a, apk_blob_t b);
#endif
