#ifndef RNN_CZLIB_SHIM_H
#define RNN_CZLIB_SHIM_H
#include <zlib.h>
#endif
