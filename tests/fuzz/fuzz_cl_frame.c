/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_cl_frame: what another node (or anyone on the NATS account) can
 * send: a subject and a frame.  The first input byte picks the part.
 * Subjects that decode must re-encode to the same bytes; topics made of
 * the input must decode back; frames that parse must write back the same.
 */
#include "config.h"

#include "cluster/cl_frame.h"
#include "cluster/cl_subject.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char topic[65536], subj[CL_SUBJECT_MAX + 1];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 3 == 0) { /* a subject from the wire */
		const char *s = (const char *) data + 1;
		int n = cl_subject_to_topic(topic, sizeof(topic), s, size - 1);

		if (n > 0) {
			int m = cl_subject_from_topic(
			    subj, sizeof(subj), topic, (size_t) n);

			if (m != (int) size - 1
			    || memcmp(subj, s, size - 1) != 0)
				abort();
		}
	} else if (data[0] % 3 == 1) { /* a topic of ours */
		const char *t = (const char *) data + 1;
		int n = cl_subject_from_topic(subj, sizeof(subj), t, size - 1);

		if (n > 0) {
			int m = cl_subject_to_topic(
			    topic, sizeof(topic), subj, (size_t) n);

			if (size - 1 <= 65535
			    && ((size_t) m != size - 1
			        || memcmp(topic, t, size - 1) != 0))
				abort();
		}
	} else { /* a frame */
		struct cl_frame f;

		if (cl_frame_parse(&f, data + 1, size - 1) == 0) {
			uint8_t *out = malloc(cl_frame_size(&f));

			if (out == NULL)
				return 0;
			cl_frame_write(out, &f);
			if (cl_frame_size(&f) != size - 1
			    || memcmp(out, data + 1, size - 1) != 0)
				abort();
			free(out);
		}
	}
	return 0;
}
