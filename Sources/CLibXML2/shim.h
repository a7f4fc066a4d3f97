#ifndef GATEHOUSE_CLIBXML2_SHIM_H
#define GATEHOUSE_CLIBXML2_SHIM_H
/* libxml2 pulls in the system ICU headers, which clash with Foundation's bundled ICU module
   ("'UErrorCode' has different definitions in different modules"). Read the version header first,
   then switch ICU off before anything else is included. */
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/c14n.h>
#include <libxml/xpath.h>
#include <libxml/xmlsave.h>
#include <libxml/xmlIO.h>
static inline void gh_xmlFree(void *p) { xmlFree(p); }
#endif
