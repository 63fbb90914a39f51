#!/usr/bin/env bash
# Install the build into a scratch prefix and build a consumer with pkg-config and with CMake's
# find_package, then check that only spk_* symbols are exported. Usage: check_install.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: check_install.sh BUILD_DIR}
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null

cat >"$tmp/consumer.c" <<'C'
#include <spikard.h>
#include <stdio.h>
#include <string.h>
static int hi(spk_req_t *q, spk_res_t *s, void *u) { (void)q; (void)u; return spk_res_send(s, 200, "text/plain", "hi", 2); }
int main(void) {
  spk_app_t *app = spk_app_new();
  spk_app_route(app, "GET", "/", hi, NULL);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  int ok = spk_test_client_get(tc, "GET", "/", &r) == 0 && r.status == 200 && strcmp(r.body, "hi") == 0;
  if (ok) spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
  printf("consumer %s (spikard %s)\n", ok ? "ok" : "FAILED", spk_version());
  return ok ? 0 : 1;
}
C
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror "$tmp/consumer.c" -o "$tmp/consumer-pc" $(pkg-config --cflags --libs spikard)
LD_LIBRARY_PATH="$(pkg-config --variable=libdir spikard)" "$tmp/consumer-pc"

mkdir -p "$tmp/cm"
cat >"$tmp/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(spikard REQUIRED)
add_executable(consumer ../consumer.c)
target_link_libraries(consumer PRIVATE spikard::spikard_static)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm/build" >/dev/null
"$tmp/cm/build/consumer"

# Hidden visibility: the shared library exports the public API only.
lib=$(ls "$tmp"/prefix/lib*/libspikard.so 2>/dev/null || ls "$tmp"/prefix/lib/*/libspikard.so)
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDB]/ {print $3}' | grep -v '^spk_' | grep -v '^_' || true)
if [ -n "$bad" ]; then
  echo "exported symbols outside the spk_ prefix:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "install check: ok ($(nm -D --defined-only "$lib" | grep -c ' T spk_') spk_* functions exported)"
