/* Interning of well-known header names: a perfect-enough dispatch on (length, first byte)
 * followed by one case-insensitive compare. */
#include <string.h>

#include "spikard/request.h"
#include "util/strutil.h"

static const struct {
  const char *text;
  unsigned char len;
  unsigned char id;
} known[] = {
#define SPK__HDR_ROW(name, num, text) {text, sizeof(text) - 1, num},
    SPK_HEADER_MAP(SPK__HDR_ROW)
#undef SPK__HDR_ROW
};

SPK_EXTERN spk_header_id_t spk_header_lookup(const char *name, size_t len) {
  if (len < 4 || len > 32) return SPK_HEADER_UNKNOWN;
  char first = spk__tolower(name[0]);
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
    if (known[i].len == len && known[i].text[0] == first &&
        spk__strieq(name, len, known[i].text, len))
      return (spk_header_id_t)known[i].id;
  }
  return SPK_HEADER_UNKNOWN;
}
