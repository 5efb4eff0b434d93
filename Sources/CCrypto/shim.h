/* OpenSSL 3 routes the one-shot SHA256()/SHA1() through EVP_Q_digest, which
 * fetches the algorithm from a provider on every call and, on the first call,
 * builds the whole default library context (config file, provider tables): a
 * few megabytes of libcrypto touched in every process, the master included.
 * The low-level SHA*_Init/Update/Final are deprecated but hash directly, so
 * these wrappers use them. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <stddef.h>
#include <openssl/sha.h>
#include <openssl/crypto.h>

static inline void cg_sha256(const unsigned char *data, size_t length, unsigned char *digest) {
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, data, length);
    SHA256_Final(digest, &context);
}

/* One digest over several buffers, as if they were joined. */
static inline void cg_sha256_parts(const void *const *parts, const size_t *lengths, size_t count,
                                   unsigned char *digest) {
    SHA256_CTX context;
    SHA256_Init(&context);
    for (size_t index = 0; index < count; index++) SHA256_Update(&context, parts[index], lengths[index]);
    SHA256_Final(digest, &context);
}

static inline void cg_sha1(const unsigned char *data, size_t length, unsigned char *digest) {
    SHA_CTX context;
    SHA1_Init(&context);
    SHA1_Update(&context, data, length);
    SHA1_Final(digest, &context);
}
