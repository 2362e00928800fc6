#ifndef RNN_CPCRE2_SHIM_H
#define RNN_CPCRE2_SHIM_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Macros Swift does not import. */
static inline size_t rnn_pcre2_zero_terminated(void) { return PCRE2_ZERO_TERMINATED; }
static inline size_t rnn_pcre2_unset(void) { return PCRE2_UNSET; }
#endif
