#include "spikard/common.h"

SPK_EXTERN const char *spk_strerror(int err) {
  switch (err) {
    case SPK_OK: return "success";
#define SPK__ERR_MSG(name, num, msg) case SPK_##name: return msg;
    SPK_ERRNO_MAP(SPK__ERR_MSG)
#undef SPK__ERR_MSG
    default: return "unknown error";
  }
}

SPK_EXTERN const char *spk_err_name(int err) {
  switch (err) {
    case SPK_OK: return "SPK_OK";
#define SPK__ERR_NAME(name, num, msg) case SPK_##name: return "SPK_" #name;
    SPK_ERRNO_MAP(SPK__ERR_NAME)
#undef SPK__ERR_NAME
    default: return "SPK_UNKNOWN";
  }
}

SPK_EXTERN const char *spk_version(void) { return SPK_VERSION_STRING; }
SPK_EXTERN unsigned spk_version_hex(void) { return SPK_VERSION_HEX; }
