// Force-included (-include) into every C++ translation unit when the compiler is GCC < 13
// (see the top-level CMakeLists.txt). GCC 12's AVX-512 intrinsic headers initialize their
// "undefined" vectors from themselves (`__m512d __Y = __Y;` in avx512fintrin.h), and once
// Eigen's packet functions are inlined GCC reports each use as -Wuninitialized (with a note
// per site): thousands of lines per build that say nothing about lsekit (GCC PR 105593,
// fixed in GCC 13). The warning is attributed to the intrinsic header, so the diagnostic
// state that matters is the one in force where that header is read: reading it first, here,
// with the two warnings off, silences exactly those sites and leaves -Wuninitialized and
// -Wmaybe-uninitialized on for lsekit's own code.
#pragma once
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif
