/* The reference side of the SAML verification benchmark: parse + verify one signed Response with
 * libxmlsec1 (OpenSSL backend), the library behind the xmlsec1 command, as fast as it goes on one core.
 * The certificate is loaded once and pinned (no KeyInfo trust), as Gatehouse does.
 *   xmlsec_verify <response.xml> <cert.pem> <seconds>   -> prints "verifications/s N" */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libxml/parser.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/crypto.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s response.xml cert.pem seconds\n", argv[0]); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 2; }
    static char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    double seconds = atof(argv[3]);
    xmlInitParser();
    if (xmlSecInit() < 0 || xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0) { fprintf(stderr, "xmlsec init failed\n"); return 1; }
    xmlSecKeyPtr key = xmlSecCryptoAppKeyLoad(argv[2], xmlSecKeyDataFormatCertPem, NULL, NULL, NULL);
    if (!key) { fprintf(stderr, "cannot load %s\n", argv[2]); return 1; }
    static const xmlChar *ids[] = { BAD_CAST "ID", NULL };
    long n = 0;
    double start = now(), end = start + seconds;
    while (now() < end) {
        for (int i = 0; i < 50; i++) {
            xmlDocPtr doc = xmlReadMemory(buf, (int)len, "response.xml", NULL, XML_PARSE_NONET);
            if (!doc) { fprintf(stderr, "parse failed\n"); return 1; }
            xmlNodePtr root = xmlDocGetRootElement(doc);
            xmlSecAddIDs(doc, root, ids);
            xmlNodePtr sig = xmlSecFindNode(root, xmlSecNodeSignature, xmlSecDSigNs);
            xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
            ctx->signKey = xmlSecKeyDuplicate(key);
            if (!sig || xmlSecDSigCtxVerify(ctx, sig) < 0 || ctx->status != xmlSecDSigStatusSucceeded) { fprintf(stderr, "verify failed\n"); return 1; }
            xmlSecDSigCtxDestroy(ctx);
            xmlFreeDoc(doc);
            n++;
        }
    }
    printf("verifications/s %.0f\n", n / (now() - start));
    xmlSecKeyDestroy(key);
    xmlSecCryptoShutdown();
    xmlSecCryptoAppShutdown();
    xmlSecShutdown();
    return 0;
}
