#ifndef GATEHOUSE_COPENSSL_SHIM_H
#define GATEHOUSE_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/bio.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>

/* Macros Swift cannot import, wrapped as functions. */
static inline long gh_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int v) { return SSL_CTX_set_min_proto_version(ctx, v); }
static inline long gh_SSL_CTX_set_options(SSL_CTX *ctx, unsigned long o) { return (long)SSL_CTX_set_options(ctx, o); }
static inline long gh_SSL_CTX_set_mode(SSL_CTX *ctx, long m) { return SSL_CTX_set_mode(ctx, m); }
static inline void gh_OPENSSL_free(void *p) { OPENSSL_free(p); }
static inline int gh_TLS1_2_VERSION(void) { return TLS1_2_VERSION; }
static inline unsigned long gh_SSL_OP_NO_RENEGOTIATION(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline unsigned long gh_SSL_OP_CIPHER_SERVER_PREFERENCE(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
static inline unsigned long gh_SSL_OP_NO_COMPRESSION(void) { return SSL_OP_NO_COMPRESSION; }
static inline long gh_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER(void) { return SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS; }
static inline long gh_SSL_set_tlsext_host_name(SSL *s, const char *name) { return SSL_set_tlsext_host_name(s, name); }
static inline int gh_EVP_PKEY_RSA(void) { return EVP_PKEY_RSA; }
static inline int gh_EVP_PKEY_EC(void) { return EVP_PKEY_EC; }
/* A new P-256 key (EVP_EC_gen is a macro over a variadic function). */
static inline EVP_PKEY *gh_EVP_EC_gen_P256(void) { return EVP_EC_gen("P-256"); }
#endif
