#include "CCurl.h"

#include <dlfcn.h>
#include <openssl/ssl.h>  /* types and constants only: the functions come from libcurl's own libssl (CCurl.h) */
#include <pthread.h>
#include <string.h>

typedef void (*message_callback)(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl,
                                 void *arg);

static struct {
    long (*ctx_ctrl)(SSL_CTX *, int, long, void *);
    void (*ctx_set_msg_callback)(SSL_CTX *, message_callback);
    int (*has_pending)(const SSL *);
} libssl;

static int available;

/* The connections that read a record on this thread since the last cg_tls_take_reading_sessions. */
static __thread void *reading[CG_TLS_READING_CAPACITY];
static __thread int reading_count;
static __thread int reading_overflowed;

static void load(void) {
    const char *version = cg_curl_ssl_version();
    if (version == NULL || strncmp(version, "OpenSSL/", 8) != 0) return;
    const char *soname = strncmp(version + 8, "1.1", 3) == 0 ? "libssl.so.1.1" : "libssl.so.3";
    void *library = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);
    if (library == NULL) return;
    *(void **)&libssl.ctx_ctrl = dlsym(library, "SSL_CTX_ctrl");
    *(void **)&libssl.ctx_set_msg_callback = dlsym(library, "SSL_CTX_set_msg_callback");
    *(void **)&libssl.has_pending = dlsym(library, "SSL_has_pending");
    available = libssl.ctx_ctrl != NULL && libssl.ctx_set_msg_callback != NULL && libssl.has_pending != NULL;
}

int cg_tls_read_ahead_available(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, load);
    return available;
}

/* OpenSSL calls this for every record header it reads, on the thread that reads (and for other protocol messages,
 * which are not noted). */
static void note_record(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl,
                        void *arg) {
    (void)version, (void)buf, (void)len, (void)arg;
    if (write_p || content_type != SSL3_RT_HEADER) return;
    if (reading_count > 0 && reading[reading_count - 1] == ssl) return;
    if (reading_count < CG_TLS_READING_CAPACITY) {
        reading[reading_count++] = ssl;
    } else {
        reading_overflowed = 1;
    }
}

/* libcurl calls this with each new connection's SSL_CTX, before the handshake. */
static CURLcode configure_context(CURL *handle, void *context, void *unused) {
    (void)handle, (void)unused;
    libssl.ctx_ctrl(context, SSL_CTRL_SET_READ_AHEAD, 1, NULL);
    libssl.ctx_set_msg_callback(context, note_record);
    return CURLE_OK;
}

CURLcode cg_easy_set_tls_read_ahead(CURL *handle) {
    if (!available) return CURLE_NOT_BUILT_IN;
    return cg_easy_setopt_ssl_ctx_function(handle, configure_context);
}

void *cg_easy_tls_session(CURL *handle) {
    struct curl_tlssessioninfo *info = NULL;
    if (!available || cg_easy_getinfo_ptr(handle, CURLINFO_TLS_SSL_PTR, (void **)&info) != CURLE_OK) return NULL;
    if (info == NULL || info->backend != CURLSSLBACKEND_OPENSSL) return NULL;
    return info->internals;
}

int cg_tls_has_buffered_input(void *session) { return libssl.has_pending(session); }

int cg_tls_take_reading_sessions(void **sessions) {
    int count = reading_overflowed ? -1 : reading_count;
    if (count > 0) memcpy(sessions, reading, (size_t)count * sizeof *sessions);
    reading_count = 0;
    reading_overflowed = 0;
    return count;
}
