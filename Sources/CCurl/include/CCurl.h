#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H

#include <curl/curl.h>
/* The upstream client keeps curl's sockets in an epoll set (Glibc's module does not export epoll). */
#include <sys/epoll.h>

// libcurl is opened at run time (`cg_curl_load`), by the processes that make upstream calls: the workers. The
// master runs the same binary but never calls upstream, so it does not map libcurl and the dozen libraries
// libcurl pulls in (GnuTLS, Kerberos, LDAP, libssh2, nghttp2, …). Every libcurl function the gateway uses is
// called through the wrappers below, which also give Swift typed versions of the variadic
// curl_easy_setopt / curl_easy_getinfo / curl_multi_setopt.

/// The library the workers open: the OpenSSL build of libcurl that Debian's libcurl4 installs.
#define CG_LIBCURL_SONAME "libcurl.so.4"

/// Opens `library` (a soname or a path; normally CG_LIBCURL_SONAME) and resolves the functions below.
/// Thread-safe; only the first call does the work, later ones report its outcome whatever they name. Returns NULL
/// when libcurl is ready, else why it is not. Calling any other function of this header before a successful load
/// is a programming error (it aborts).
const char *cg_curl_load(const char *library);

CURLcode cg_global_init(long flags);
const char *cg_easy_strerror(CURLcode code);
/// The TLS library libcurl was built with, as `curl_version_info` names it ("OpenSSL/3.0.19"), or NULL.
const char *cg_curl_ssl_version(void);

CURL *cg_easy_init(void);
void cg_easy_cleanup(CURL *handle);
CURLcode cg_easy_pause(CURL *handle, int bitmask);

CURLM *cg_multi_init(void);
CURLMcode cg_multi_cleanup(CURLM *multi);
CURLMcode cg_multi_add_handle(CURLM *multi, CURL *handle);
CURLMcode cg_multi_remove_handle(CURLM *multi, CURL *handle);
CURLMcode cg_multi_socket_action(CURLM *multi, curl_socket_t socket, int events, int *running_handles);

struct curl_slist *cg_slist_append(struct curl_slist *list, const char *string);
void cg_slist_free_all(struct curl_slist *list);

CURLU *cg_url(void);
CURLUcode cg_url_set(CURLU *url, CURLUPart part, const char *content, unsigned int flags);
void cg_url_cleanup(CURLU *url);

typedef size_t (*cg_write_callback)(char *data, size_t size, size_t nmemb, void *userdata);

CURLcode cg_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode cg_easy_setopt_ptr(CURL *handle, CURLoption option, const void *value);
CURLcode cg_easy_setopt_write_function(CURL *handle, CURLoption option, cg_write_callback callback);
CURLcode cg_easy_setopt_opensocket_function(CURL *handle, curl_opensocket_callback callback);
CURLcode cg_easy_setopt_closesocket_function(CURL *handle, curl_closesocket_callback callback);
CURLcode cg_easy_setopt_ssl_ctx_function(CURL *handle, curl_ssl_ctx_callback callback);
CURLcode cg_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode cg_easy_getinfo_ptr(CURL *handle, CURLINFO info, void **value);
CURLMcode cg_multi_setopt_long(CURLM *multi, CURLMoption option, long value);
CURLMcode cg_multi_setopt_ptr(CURLM *multi, CURLMoption option, void *value);
CURLMcode cg_multi_setopt_socket_function(CURLM *multi, curl_socket_callback callback);
CURLMcode cg_multi_setopt_timer_function(CURLM *multi, curl_multi_timer_callback callback);

/// The CURLMsg of a finished transfer: its easy handle and result code.
int cg_multi_info_read_done(CURLM *multi, CURL **handle, CURLcode *result);

// OpenSSL's read-ahead on libcurl's TLS connections (tls_read_ahead.c; the Swift side is `TLSReadAhead`).
//
// Without it OpenSSL reads each TLS record from the socket in two recv() calls, its 5-byte header and then its body,
// and a streamed answer is many records. With it, one recv() takes all the records the socket holds. libcurl 7.88
// then stops after the first record, though: it asks SSL_pending() whether to read on, which counts only a record
// already decrypted, so the records read ahead would wait in OpenSSL's buffer with the socket empty, and nothing
// would wake their transfer. OpenSSL therefore notes, on the reading thread, every connection that reads a record;
// after each call into curl the caller takes those (cg_tls_take_reading_sessions) and has curl read again each of
// them that still holds input (cg_tls_has_buffered_input), until none read a record.
//
// libssl is not linked: its functions are looked up in the copy libcurl loaded (dlopen with RTLD_NOLOAD), so they
// are the ones acting on libcurl's SSL objects.

/// How many connections one thread notes between two takes; more, and the take says so (-1).
#define CG_TLS_READING_CAPACITY 256

/// Whether read-ahead can be used: libcurl is built with OpenSSL, whose libssl is loaded. Call after cg_curl_load
/// succeeded; thread-safe; only the first call does the work.
int cg_tls_read_ahead_available(void);
/// Makes every TLS connection `handle` opens from now on read ahead and note its reads. Only when
/// cg_tls_read_ahead_available().
CURLcode cg_easy_set_tls_read_ahead(CURL *handle);
/// The OpenSSL object (SSL *) of the TLS connection `handle`'s transfer is on; NULL without one.
void *cg_easy_tls_session(CURL *handle);
/// Whether the connection holds input curl has not taken (SSL_has_pending: a decrypted record, records read ahead,
/// or part of a record). `session` must be alive.
int cg_tls_has_buffered_input(void *session);
/// Moves the connections that read a record on the calling thread since the last take into `sessions` (room for
/// CG_TLS_READING_CAPACITY) and returns how many; -1 when there were more than that. The pointers are only
/// identities: a connection may have been closed since.
int cg_tls_take_reading_sessions(void **sessions);

#endif
