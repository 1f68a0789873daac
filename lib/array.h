/*
 * array.h: the one growable-array step shared by every layer (core, fuse,
 * journal): room for element N of a malloc'd array whose capacity doubles,
 * starting at FIRST.  0, or ENOMEM with the array and capacity unchanged.
 * ARRAYP is the address of the array pointer (any element type).
 */
#ifndef NG_ARRAY_H
#define NG_ARRAY_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static inline int ng_array_room(void *arrayp, size_t *cap, size_t n, size_t elem, size_t first)
{
	void **array = arrayp;
	size_t want;
	void *p;

	if (n < *cap)
		return 0;
	want = *cap ? *cap * 2 : first;
	if (want > SIZE_MAX / elem || !(p = realloc(*array, want * elem)))
		return ENOMEM;
	*array = p;
	*cap = want;
	return 0;
}

#endif
