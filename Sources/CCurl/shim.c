#include "CCurl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* libcurl's functions, resolved once by cg_curl_load. */
static struct {
    CURLcode (*global_init)(long);
    const char *(*easy_strerror)(CURLcode);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_pause)(CURL *, int);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLU *(*url)(void);
    CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
    void (*url_cleanup)(CURLU *);
    CURLSH *(*share_init)(void);
    CURLSHcode (*share_setopt)(CURLSH *, CURLSHoption, ...);
    CURLSHcode (*share_cleanup)(CURLSH *);
} curl;

static int loaded;
static char load_error[512];

static void load(const char *name) {
    void *library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        snprintf(load_error, sizeof load_error, "cannot open libcurl: %s", dlerror());
        return;
    }
#define RESOLVE(field, symbol)                                                                          \
    if ((*(void **)&curl.field = dlsym(library, symbol)) == NULL) {                                     \
        snprintf(load_error, sizeof load_error, "%s has no %s: %s", name, symbol, dlerror());          \
        return;                                                                                         \
    }
    RESOLVE(global_init, "curl_global_init")
    RESOLVE(easy_strerror, "curl_easy_strerror")
    RESOLVE(easy_init, "curl_easy_init")
    RESOLVE(easy_cleanup, "curl_easy_cleanup")
    RESOLVE(easy_pause, "curl_easy_pause")
    RESOLVE(easy_setopt, "curl_easy_setopt")
    RESOLVE(easy_getinfo, "curl_easy_getinfo")
    RESOLVE(multi_init, "curl_multi_init")
    RESOLVE(multi_cleanup, "curl_multi_cleanup")
    RESOLVE(multi_add_handle, "curl_multi_add_handle")
    RESOLVE(multi_remove_handle, "curl_multi_remove_handle")
    RESOLVE(multi_socket_action, "curl_multi_socket_action")
    RESOLVE(multi_setopt, "curl_multi_setopt")
    RESOLVE(multi_info_read, "curl_multi_info_read")
    RESOLVE(slist_append, "curl_slist_append")
    RESOLVE(slist_free_all, "curl_slist_free_all")
    RESOLVE(url, "curl_url")
    RESOLVE(url_set, "curl_url_set")
    RESOLVE(url_cleanup, "curl_url_cleanup")
    RESOLVE(share_init, "curl_share_init")
    RESOLVE(share_setopt, "curl_share_setopt")
    RESOLVE(share_cleanup, "curl_share_cleanup")
#undef RESOLVE
    loaded = 1;
}

const char *cg_curl_load(const char *library) {
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static int attempted;
    pthread_mutex_lock(&lock);
    if (!attempted) {
        attempted = 1;
        load(library);
    }
    pthread_mutex_unlock(&lock);
    return loaded ? NULL : load_error;
}

/* Every wrapper goes through here: a call before a successful load would jump through a null pointer. */
static inline void require_loaded(void) {
    if (__builtin_expect(!loaded, 0)) {
        fprintf(stderr, "cerebras-gateway: libcurl called before cg_curl_load succeeded\n");
        abort();
    }
}

CURLcode cg_global_init(long flags) { require_loaded(); return curl.global_init(flags); }
const char *cg_easy_strerror(CURLcode code) { require_loaded(); return curl.easy_strerror(code); }

CURL *cg_easy_init(void) { require_loaded(); return curl.easy_init(); }
void cg_easy_cleanup(CURL *handle) { require_loaded(); curl.easy_cleanup(handle); }
CURLcode cg_easy_pause(CURL *handle, int bitmask) { require_loaded(); return curl.easy_pause(handle, bitmask); }

CURLM *cg_multi_init(void) { require_loaded(); return curl.multi_init(); }
CURLMcode cg_multi_cleanup(CURLM *multi) { require_loaded(); return curl.multi_cleanup(multi); }
CURLMcode cg_multi_add_handle(CURLM *multi, CURL *handle) {
    require_loaded();
    return curl.multi_add_handle(multi, handle);
}
CURLMcode cg_multi_remove_handle(CURLM *multi, CURL *handle) {
    require_loaded();
    return curl.multi_remove_handle(multi, handle);
}
CURLMcode cg_multi_socket_action(CURLM *multi, curl_socket_t socket, int events, int *running_handles) {
    require_loaded();
    return curl.multi_socket_action(multi, socket, events, running_handles);
}

struct curl_slist *cg_slist_append(struct curl_slist *list, const char *string) {
    require_loaded();
    return curl.slist_append(list, string);
}
void cg_slist_free_all(struct curl_slist *list) { require_loaded(); curl.slist_free_all(list); }

CURLU *cg_url(void) { require_loaded(); return curl.url(); }
CURLUcode cg_url_set(CURLU *url, CURLUPart part, const char *content, unsigned int flags) {
    require_loaded();
    return curl.url_set(url, part, content, flags);
}
void cg_url_cleanup(CURLU *url) { require_loaded(); curl.url_cleanup(url); }

CURLSH *cg_share_init(void) { require_loaded(); return curl.share_init(); }
CURLSHcode cg_share_setopt_long(CURLSH *share, CURLSHoption option, long value) {
    require_loaded();
    return curl.share_setopt(share, option, value);
}
CURLSHcode cg_share_cleanup(CURLSH *share) { require_loaded(); return curl.share_cleanup(share); }

CURLcode cg_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    require_loaded();
    return curl.easy_setopt(handle, option, value);
}

CURLcode cg_easy_setopt_ptr(CURL *handle, CURLoption option, const void *value) {
    require_loaded();
    return curl.easy_setopt(handle, option, value);
}

CURLcode cg_easy_setopt_write_function(CURL *handle, CURLoption option, cg_write_callback callback) {
    require_loaded();
    return curl.easy_setopt(handle, option, callback);
}

CURLcode cg_easy_setopt_opensocket_function(CURL *handle, curl_opensocket_callback callback) {
    require_loaded();
    return curl.easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, callback);
}

CURLcode cg_easy_setopt_closesocket_function(CURL *handle, curl_closesocket_callback callback) {
    require_loaded();
    return curl.easy_setopt(handle, CURLOPT_CLOSESOCKETFUNCTION, callback);
}

CURLcode cg_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    require_loaded();
    return curl.easy_getinfo(handle, info, value);
}

CURLcode cg_easy_getinfo_ptr(CURL *handle, CURLINFO info, void **value) {
    require_loaded();
    return curl.easy_getinfo(handle, info, value);
}

CURLMcode cg_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    require_loaded();
    return curl.multi_setopt(multi, option, value);
}

CURLMcode cg_multi_setopt_ptr(CURLM *multi, CURLMoption option, void *value) {
    require_loaded();
    return curl.multi_setopt(multi, option, value);
}

CURLMcode cg_multi_setopt_socket_function(CURLM *multi, curl_socket_callback callback) {
    require_loaded();
    return curl.multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, callback);
}

CURLMcode cg_multi_setopt_timer_function(CURLM *multi, curl_multi_timer_callback callback) {
    require_loaded();
    return curl.multi_setopt(multi, CURLMOPT_TIMERFUNCTION, callback);
}

int cg_multi_info_read_done(CURLM *multi, CURL **handle, CURLcode *result) {
    require_loaded();
    int queued = 0;
    CURLMsg *msg;
    while ((msg = curl.multi_info_read(multi, &queued)) != NULL) {
        if (msg->msg == CURLMSG_DONE) {
            *handle = msg->easy_handle;
            *result = msg->data.result;
            return 1;
        }
    }
    return 0;
}
