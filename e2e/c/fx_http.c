/* Fixture runner — transports and response parsing.
 *
 * In-process: spk_test_client_send_raw (the server's own pipeline, no sockets). Socket: a tiny
 * HTTP/1.1 client over loopback with every step (connect, write, read) bounded by one deadline.
 * Both hand their raw response bytes to the same parser (Content-Length, chunked, or read to
 * EOF; no body for HEAD, 1xx, 204, 304; interim 1xx responses skipped), then undo the content
 * coding (gzip/x-gzip, deflate, br, zstd — with the libraries themselves, not the server's
 * encoder) so `expected_response.body` always describes the identity representation, as the
 * fixtures write it. A body that does not decode fails the fixture; a coding the runner does
 * not know (aes128gcm…) leaves the bytes as they are. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include "fx.h"

void fx_response_free(fx_response_t *r) {
  if (!r) return;
  for (size_t i = 0; i < r->nheaders; i++) {
    free(r->headers[i].name);
    free(r->headers[i].value);
  }
  free(r->headers);
  free(r->body);
  memset(r, 0, sizeof(*r));
}

const char *fx_response_header(const fx_response_t *r, const char *name) {
  for (size_t i = 0; i < r->nheaders; i++)
    if (strcasecmp(r->headers[i].name, name) == 0) return r->headers[i].value;
  return NULL;
}

static char *dupn(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

static const char *find_crlf2(const char *s, size_t len) {
  for (size_t i = 0; i + 3 < len; i++)
    if (s[i] == '\r' && s[i + 1] == '\n' && s[i + 2] == '\r' && s[i + 3] == '\n') return s + i;
  return NULL;
}

/* Decode a chunked body starting at p. Returns 1 complete (body in *out), 0 need more,
 * -1 malformed. */
static int dechunk(const char *p, size_t len, spk__buf_t *out) {
  size_t i = 0;
  for (;;) {
    size_t line_end = i;
    while (line_end + 1 < len && !(p[line_end] == '\r' && p[line_end + 1] == '\n')) line_end++;
    if (line_end + 1 >= len) return 0;
    size_t size = 0;
    size_t k = i;
    int digits = 0;
    for (; k < line_end; k++) {
      char c = p[k];
      int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                             : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (v < 0) break;
      if (size > (SIZE_MAX >> 4)) return -1;
      size = size * 16 + (size_t)v;
      digits++;
    }
    if (!digits) return -1;
    i = line_end + 2;
    if (size == 0) {
      /* Trailers until an empty line. */
      for (;;) {
        size_t e = i;
        while (e + 1 < len && !(p[e] == '\r' && p[e + 1] == '\n')) e++;
        if (e + 1 >= len) return 0;
        if (e == i) return 1;
        i = e + 2;
      }
    }
    if (len - i < size + 2) return 0;
    spk__buf_append(out, p + i, size);
    i += size;
    if (p[i] != '\r' || p[i + 1] != '\n') return -1;
    i += 2;
  }
}

/* Parse raw response bytes. 1 complete (out filled), 0 incomplete, -1 malformed. */
int fx_parse_response(const char *raw, size_t len, int is_head, int eof, fx_response_t *out) {
  size_t pos = 0;
  for (;;) {
    const char *end = find_crlf2(raw + pos, len - pos);
    if (!end) return eof && len > pos ? -1 : 0;
    int status = 0;
    if (len - pos < 12 || strncmp(raw + pos, "HTTP/1.", 7) != 0 ||
        sscanf(raw + pos + 9, "%3d", &status) != 1 || status < 100)
      return -1;
    size_t head_end = (size_t)(end - raw) + 4;
    if (status < 200 && status != 101) {
      pos = head_end;
      continue;
    }
    memset(out, 0, sizeof(*out));
    size_t nh = 0;
    for (const char *p = raw + pos; p < end; p++) nh += *p == '\n';
    out->headers = calloc(nh + 1, sizeof(*out->headers));
    if (!out->headers) return -1;
    out->status = status;
    long long content_length = -1;
    int chunked = 0;
    const char *line = memchr(raw + pos, '\n', (size_t)(end - (raw + pos)) + 1);
    line = line ? line + 1 : end;
    while (line < end) {
      const char *eol = memchr(line, '\r', (size_t)(end + 1 - line));
      if (!eol) break;
      const char *colon = memchr(line, ':', (size_t)(eol - line));
      if (colon) {
        const char *v = colon + 1;
        const char *ve = eol;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        char *name = dupn(line, (size_t)(colon - line));
        char *value = dupn(v, (size_t)(ve - v));
        if (!name || !value) {
          free(name);
          free(value);
          fx_response_free(out);
          return -1;
        }
        for (char *q = name; *q; q++)
          if (*q >= 'A' && *q <= 'Z') *q = (char)(*q + 32);
        out->headers[out->nheaders].name = name;
        out->headers[out->nheaders++].value = value;
        if (strcmp(name, "content-length") == 0) content_length = strtoll(value, NULL, 10);
        if (strcmp(name, "transfer-encoding") == 0 && strcasestr(value, "chunked")) chunked = 1;
      }
      line = eol + 2;
    }
    const char *body = raw + head_end;
    size_t avail = len - head_end;
    int no_body = is_head || status == 204 || status == 304 || status == 101;
    if (no_body) {
      out->body = dupn("", 0);
    } else if (chunked) {
      spk__buf_t b = {0};
      int rc = dechunk(body, avail, &b);
      if (rc == 1) out->body = dupn(b.data ? b.data : "", b.len), out->body_len = b.len;
      spk__buf_free(&b);
      if (rc != 1) {
        fx_response_free(out);
        return rc == 0 && !eof ? 0 : -1;
      }
    } else if (content_length >= 0) {
      if (avail < (size_t)content_length) {
        fx_response_free(out);
        return eof ? -1 : 0;
      }
      out->body = dupn(body, (size_t)content_length);
      out->body_len = (size_t)content_length;
    } else {
      if (!eof) {
        fx_response_free(out);
        return 0;
      }
      out->body = dupn(body, avail);
      out->body_len = avail;
    }
    if (!out->body) {
      fx_response_free(out);
      return -1;
    }
    return 1;
  }
}

/* ---- content codings ---- */

#define FX_MAX_DECODED (64u << 20) /* a decompression bomb fails the fixture, not the runner */

static int inflate_all(const char *in, size_t len, int gzip, spk__buf_t *out) {
  z_stream z;
  memset(&z, 0, sizeof(z));
  if (inflateInit2(&z, gzip ? 15 + 16 : 15) != Z_OK) return -1;
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  int rc;
  do {
    if (out->len > FX_MAX_DECODED || spk__buf_reserve(out, 16384)) break;
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)(out->cap - out->len);
    rc = inflate(&z, Z_NO_FLUSH);
    out->len = out->cap - z.avail_out;
  } while (rc == Z_OK);
  inflateEnd(&z);
  return rc == Z_STREAM_END && z.avail_in == 0 ? 0 : -1;
}

static int unbrotli(const char *in, size_t len, spk__buf_t *out) {
  BrotliDecoderState *d = BrotliDecoderCreateInstance(NULL, NULL, NULL);
  if (!d) return -1;
  const uint8_t *ni = (const uint8_t *)in;
  size_t ai = len;
  BrotliDecoderResult r = BROTLI_DECODER_RESULT_ERROR;
  do {
    if (out->len > FX_MAX_DECODED || spk__buf_reserve(out, 16384)) break;
    uint8_t *no = (uint8_t *)out->data + out->len;
    size_t ao = out->cap - out->len;
    r = BrotliDecoderDecompressStream(d, &ai, &ni, &ao, &no, NULL);
    out->len = out->cap - ao;
  } while (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT);
  BrotliDecoderDestroyInstance(d);
  return r == BROTLI_DECODER_RESULT_SUCCESS && ai == 0 ? 0 : -1;
}

static int unzstd(const char *in, size_t len, spk__buf_t *out) {
  ZSTD_DCtx *d = ZSTD_createDCtx();
  if (!d) return -1;
  ZSTD_inBuffer ib = {in, len, 0};
  size_t r = 1;
  while (r != 0) {
    if (out->len > FX_MAX_DECODED || spk__buf_reserve(out, 16384)) break;
    ZSTD_outBuffer ob = {out->data + out->len, out->cap - out->len, 0};
    r = ZSTD_decompressStream(d, &ob, &ib);
    out->len += ob.pos;
    if (ZSTD_isError(r) || (ib.pos == ib.size && ob.pos < ob.size && r != 0)) break;
  }
  ZSTD_freeDCtx(d);
  return r == 0 && ib.pos == ib.size ? 0 : -1; /* one whole frame, nothing after it */
}

/* Replace out->body by its decoded form when Content-Encoding names a coding we know. */
static int decode_content(fx_response_t *out, char *err, size_t errlen) {
  const char *ce = fx_response_header(out, "content-encoding");
  if (!ce || !out->body_len) return 0;
  spk__buf_t dec = {0};
  int rc;
  if (!strcasecmp(ce, "gzip") || !strcasecmp(ce, "x-gzip"))
    rc = inflate_all(out->body, out->body_len, 1, &dec);
  else if (!strcasecmp(ce, "deflate"))
    rc = inflate_all(out->body, out->body_len, 0, &dec);
  else if (!strcasecmp(ce, "br"))
    rc = unbrotli(out->body, out->body_len, &dec);
  else if (!strcasecmp(ce, "zstd"))
    rc = unzstd(out->body, out->body_len, &dec);
  else
    return 0; /* not ours to decode: compared as sent */
  char *body = rc == 0 ? dupn(dec.data ? dec.data : "", dec.len) : NULL;
  if (!body) {
    snprintf(err, errlen, "Content-Encoding %s: the %zu-byte body does not decode", ce,
             out->body_len);
    spk__buf_free(&dec);
    fx_response_free(out);
    return -1;
  }
  free(out->body);
  out->body = body;
  out->body_len = dec.len;
  spk__buf_free(&dec);
  return 0;
}

int fx_send_inproc(spk_app_t *app, const fx_request_t *req, fx_response_t *out, char *err,
                   size_t errlen) {
  spk_test_client_t *tc = spk_test_client_new(app);
  if (!tc) {
    snprintf(err, errlen, "spk_test_client_new failed");
    return -1;
  }
  spk_test_response_t tr;
  memset(&tr, 0, sizeof(tr));
  int rc = spk_test_client_send_raw(tc, req->bytes.data, req->bytes.len, &tr);
  int ret = 0;
  if (rc != SPK_OK) {
    snprintf(err, errlen, "no response in-process (%s)", spk_err_name(rc));
    ret = -1;
  } else {
    int p = fx_parse_response(tr.raw, tr.raw_len, req->is_head, 1, out);
    if (p != 1) {
      snprintf(err, errlen, "malformed response in-process (%zu bytes)", tr.raw_len);
      ret = -1;
    } else if (decode_content(out, err, errlen) != 0) {
      ret = -1;
    }
    spk_test_response_free(&tr);
  }
  spk_test_client_free(tc);
  return ret;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for `events` until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, long long deadline) {
  for (;;) {
    long long left = deadline - now_ms();
    if (left <= 0) return 0;
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
    if (r > 0) return 1;
    if (r == 0) return 0;
    if (errno != EINTR) return -1;
  }
}

int fx_send_socket(int port, const fx_request_t *req, int timeout_ms, fx_response_t *out,
                   char *err, size_t errlen) {
  long long deadline = now_ms() + timeout_ms;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(err, errlen, "socket: %s", strerror(errno));
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int ret = -1;
  spk__buf_t in = {0};
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    if (errno != EINPROGRESS) {
      snprintf(err, errlen, "connect: %s", strerror(errno));
      goto done;
    }
    int w = wait_fd(fd, POLLOUT, deadline);
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (w <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
      snprintf(err, errlen, "connect: %s", w == 0 ? "timed out" : strerror(soerr ? soerr : errno));
      goto done;
    }
  }
  /* Write everything; a server may answer early and close (413, 431): then stop writing and
   * read what it said. */
  size_t off = 0;
  while (off < req->bytes.len) {
    ssize_t n = send(fd, req->bytes.data + off, req->bytes.len - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int w = wait_fd(fd, POLLOUT | POLLIN, deadline);
      if (w == 0) {
        snprintf(err, errlen, "timed out after %d ms writing the request (%zu of %zu bytes)",
                 timeout_ms, off, req->bytes.len);
        goto done;
      }
      if (w < 0) break;
      /* The server may already be answering (early error while we still write). */
      struct pollfd p = {.fd = fd, .events = POLLIN};
      if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) break;
      continue;
    }
    break; /* EPIPE / ECONNRESET: read the answer */
  }
  /* The fixture declares more body than it has: tell the server nothing more is coming. */
  if (req->short_body) shutdown(fd, SHUT_WR);
  for (;;) {
    int p = fx_parse_response(in.data ? in.data : "", in.len, req->is_head, 0, out);
    if (p == 1) {
      ret = 0;
      break;
    }
    if (p < 0) {
      snprintf(err, errlen, "malformed response over the socket (%zu bytes)", in.len);
      break;
    }
    int w = wait_fd(fd, POLLIN, deadline);
    if (w == 0) {
      snprintf(err, errlen, "timed out after %d ms waiting for the response (%zu bytes read)",
               timeout_ms, in.len);
      break;
    }
    char chunk[16384];
    ssize_t n = w > 0 ? recv(fd, chunk, sizeof(chunk), 0) : -1;
    if (n > 0) {
      spk__buf_append(&in, chunk, (size_t)n);
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    /* EOF or reset: whatever arrived must be a whole response. */
    int q = in.len ? fx_parse_response(in.data, in.len, req->is_head, 1, out) : -1;
    if (q == 1) {
      ret = 0;
    } else {
      snprintf(err, errlen, "connection %s after %zu bytes without a complete response",
               n == 0 ? "closed" : "reset", in.len);
    }
    break;
  }
done:
  spk__buf_free(&in);
  close(fd);
  if (ret == 0 && decode_content(out, err, errlen) != 0) ret = -1;
  return ret;
}
