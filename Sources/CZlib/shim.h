#ifndef GATEHOUSE_CZLIB_SHIM_H
#define GATEHOUSE_CZLIB_SHIM_H
#include <zlib.h>
/* inflateInit2 / deflateInit2 are macros. windowBits -15 selects raw DEFLATE (SAML HTTP-Redirect binding). */
static inline int gh_inflateInit2(z_streamp s, int windowBits) { return inflateInit2(s, windowBits); }
static inline int gh_deflateInit2(z_streamp s, int level, int windowBits) {
    return deflateInit2(s, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}
#endif
