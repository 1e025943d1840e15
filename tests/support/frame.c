/* SPDX-License-Identifier: BSD-2-Clause */
/* frame: the numbered test frame the tests send through a switch. */
#include "frame.h"

#include <string.h>

void frame_make(uint8_t *f, uint32_t len, const uint8_t dst[6], uint8_t src, uint32_t seq)
{
	memset(f, 0, len);
	memcpy(f, dst, 6);
	f[6] = 0x02;
	f[11] = src;
	f[12] = 0x08;
	f[14] = 0x45;
	f[23] = 17;
	f[42] = src;
	memcpy(f + 46, &seq, 4);
}

void frame_fields(const uint8_t *f, uint8_t *ret_src, uint32_t *ret_seq)
{
	*ret_src = f[42];
	memcpy(ret_seq, f + 46, 4);
}
