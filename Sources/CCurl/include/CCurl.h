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

/// A share of data between the easy handles set to it (CURLOPT_SHARE); used by one thread, so without lock callbacks.
CURLSH *cg_share_init(void);
CURLSHcode cg_share_setopt_long(CURLSH *share, CURLSHoption option, long value);
CURLSHcode cg_share_cleanup(CURLSH *share);

typedef size_t (*cg_write_callback)(char *data, size_t size, size_t nmemb, void *userdata);

CURLcode cg_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode cg_easy_setopt_ptr(CURL *handle, CURLoption option, const void *value);
CURLcode cg_easy_setopt_write_function(CURL *handle, CURLoption option, cg_write_callback callback);
CURLcode cg_easy_setopt_opensocket_function(CURL *handle, curl_opensocket_callback callback);
CURLcode cg_easy_setopt_closesocket_function(CURL *handle, curl_closesocket_callback callback);
CURLcode cg_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode cg_easy_getinfo_ptr(CURL *handle, CURLINFO info, void **value);
CURLMcode cg_multi_setopt_long(CURLM *multi, CURLMoption option, long value);
CURLMcode cg_multi_setopt_ptr(CURLM *multi, CURLMoption option, void *value);
CURLMcode cg_multi_setopt_socket_function(CURLM *multi, curl_socket_callback callback);
CURLMcode cg_multi_setopt_timer_function(CURLM *multi, curl_multi_timer_callback callback);

/// The CURLMsg of a finished transfer: its easy handle and result code.
int cg_multi_info_read_done(CURLM *multi, CURL **handle, CURLcode *result);

#endif
