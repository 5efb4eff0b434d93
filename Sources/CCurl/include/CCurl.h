#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H

#include <curl/curl.h>
/* The upstream client drives curl's sockets with epoll and wakes its thread with an eventfd (Glibc's module
   does not export these). */
#include <sys/epoll.h>
#include <sys/eventfd.h>

// Swift cannot call C variadic functions, so every curl_easy_setopt / curl_easy_getinfo / curl_multi_setopt
// shape the gateway uses gets a typed wrapper here.

typedef size_t (*cg_write_callback)(char *data, size_t size, size_t nmemb, void *userdata);

CURLcode cg_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode cg_easy_setopt_ptr(CURL *handle, CURLoption option, const void *value);
CURLcode cg_easy_setopt_write_function(CURL *handle, CURLoption option, cg_write_callback callback);
CURLcode cg_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode cg_easy_getinfo_ptr(CURL *handle, CURLINFO info, void **value);
CURLMcode cg_multi_setopt_long(CURLM *multi, CURLMoption option, long value);
CURLMcode cg_multi_setopt_ptr(CURLM *multi, CURLMoption option, void *value);
CURLMcode cg_multi_setopt_socket_function(CURLM *multi, curl_socket_callback callback);
CURLMcode cg_multi_setopt_timer_function(CURLM *multi, curl_multi_timer_callback callback);

/// The CURLMsg of a finished transfer: its easy handle and result code.
int cg_multi_info_read_done(CURLM *multi, CURL **handle, CURLcode *result);

#endif
